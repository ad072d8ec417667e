// Syncline dashboard: a small single-page script over the REST API. The secret key lives in
// sessionStorage (gone when the tab closes) and goes out only as `Authorization: Bearer`.
// Every value from the server is written with textContent, never as HTML.
(function () {
  'use strict';

  var STORAGE_KEY = 'syncline.secretKey';
  var REFRESH_MS = 3000;
  var main = document.getElementById('main');
  var nav = document.getElementById('nav');
  var refreshTimer = null;
  var generation = 0;

  // ---- helpers ------------------------------------------------------------------------------

  function h(tag, attrs) {
    var el = document.createElement(tag);
    for (var name in attrs || {}) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) continue;
      if (name.slice(0, 2) === 'on') el.addEventListener(name.slice(2), value);
      else if (name === 'text') el.textContent = value;
      else el.setAttribute(name, value === true ? '' : String(value));
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) return child.forEach(function (c) { append(el, c); });
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }

  function query(params) {
    var parts = [];
    for (var k in params) {
      var v = params[k];
      if (v !== undefined && v !== null && v !== '') parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    }
    return parts.length ? '?' + parts.join('&') : '';
  }

  function link(view, params, text, attrs) {
    return h('a', Object.assign({ href: '#/' + view + query(params) }, attrs || {}), text);
  }

  function when(iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    var diff = (d.getTime() - Date.now()) / 1000;
    var abs = Math.abs(diff);
    var rel = abs < 60 ? Math.round(abs) + ' s' : abs < 3600 ? Math.round(abs / 60) + ' min' : abs < 86400 ? Math.round(abs / 3600) + ' h' : Math.round(abs / 86400) + ' d';
    return h('time', { datetime: iso, title: d.toLocaleString() }, diff >= 0 ? 'in ' + rel : rel + ' ago');
  }

  function badge(text, kind) {
    return h('span', { class: 'badge ' + (kind || String(text).toLowerCase()) }, text);
  }

  function signOut() {
    sessionStorage.removeItem(STORAGE_KEY);
    location.hash = '#/sign-in';
  }

  function api(method, path, options) {
    options = options || {};
    var headers = Object.assign({ authorization: 'Bearer ' + sessionStorage.getItem(STORAGE_KEY), accept: 'application/json' }, options.headers || {});
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(path, { method: method, headers: headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) }).then(function (res) {
      return res.text().then(function (text) {
        var body = text ? JSON.parse(text) : null;
        if (res.status === 401 && !options.signingIn) signOut();
        if (!res.ok) {
          var err = new Error((body && body.error && body.error.message) || res.status + ' ' + res.statusText);
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }

  function show() {
    main.replaceChildren.apply(main, Array.prototype.slice.call(arguments).filter(Boolean));
  }

  function failure(err) {
    return h('p', { class: 'error', role: 'alert' }, err.message);
  }

  function table(headers, rows, attrs) {
    return h('table', attrs || {}, h('thead', {}, h('tr', {}, headers.map(function (t) { return h('th', {}, t); }))), h('tbody', {}, rows));
  }

  function empty(columns, text) {
    return h('tr', {}, h('td', { colspan: columns, class: 'muted' }, text));
  }

  // ---- views --------------------------------------------------------------------------------

  function signIn() {
    nav.hidden = true;
    var input = h('input', { id: 'key', type: 'password', autocomplete: 'off', placeholder: 'sk_dev_…', required: true });
    var message = h('p', { class: 'error', role: 'alert' });
    var form = h(
      'form',
      {
        class: 'card sign-in',
        onsubmit: function (event) {
          event.preventDefault();
          sessionStorage.setItem(STORAGE_KEY, input.value.trim());
          api('GET', '/integrations', { signingIn: true }).then(
            function () { location.hash = '#/connections'; },
            function (err) {
              sessionStorage.removeItem(STORAGE_KEY);
              message.textContent = err.status === 401 ? 'This secret key is not valid.' : err.message;
            },
          );
        },
      },
      h('h1', {}, 'Sign in'),
      h('label', { for: 'key' }, "Your environment's secret key"),
      input,
      h('button', { id: 'sign-in', type: 'submit' }, 'Sign in'),
      message,
    );
    show(form);
    input.focus();
  }

  function integrations() {
    return api('GET', '/integrations').then(function (body) {
      var rows = body.data.map(function (i) {
        return h('tr', { 'data-integration': i.unique_key },
          h('td', {}, link('connections', { integration: i.unique_key }, i.unique_key)),
          h('td', {}, i.display_name), h('td', {}, i.provider), h('td', {}, when(i.created_at)));
      });
      show(h('h1', {}, 'Integrations'), table(['Key', 'Name', 'Provider', 'Created'], rows.length ? rows : empty(4, 'No integration yet.')));
    });
  }

  function syncRow(connection, sync, reload) {
    var target = { provider_config_key: connection.provider_config_key, connection_id: connection.connection_id, syncs: [{ name: sync.name, variant: sync.variant }] };
    var control = function (action, label) {
      return h('button', {
        type: 'button',
        class: 'small',
        'data-action': action,
        onclick: function (event) {
          event.target.disabled = true;
          api('POST', '/sync/' + action, { body: target }).then(reload, function (err) { main.prepend(failure(err)); reload(); });
        },
      }, label);
    };
    var ref = { integration: connection.provider_config_key, connection: connection.connection_id, sync: sync.name, variant: sync.variant === 'base' ? undefined : sync.variant };
    var models = Object.keys(sync.recordCount || {});
    return h('tr', { class: 'sync', 'data-sync': connection.connection_id + '/' + sync.name + (sync.variant === 'base' ? '' : '::' + sync.variant) },
      h('td', { class: 'indent' }, sync.variant === 'base' ? sync.name : sync.name + '::' + sync.variant),
      h('td', { class: 'status' }, badge(sync.status)),
      h('td', { class: 'last-run' }, when(sync.finishedAt)),
      h('td', { class: 'next-run' }, sync.status === 'PAUSED' ? '—' : when(sync.nextScheduledSyncAt)),
      h('td', { class: 'counts' }, models.length ? models.map(function (m) {
        return h('div', {}, link('records', { integration: connection.provider_config_key, connection: connection.connection_id, model: m }, m), ' ', h('span', { class: 'count' }, String(sync.recordCount[m])));
      }) : '—'),
      h('td', { class: 'actions' },
        sync.status === 'PAUSED' ? control('start', 'Start') : control('pause', 'Pause'), control('trigger', 'Trigger'), ' ',
        link('runs', ref, 'Runs'), ' ', link('history', ref, 'History')),
    );
  }

  function connections(params) {
    var page = Number(params.page || 0);
    var search = h('input', { id: 'search', type: 'search', placeholder: 'Connection id, end user id, email or name', value: params.search || '' });
    var integration = h('select', { id: 'integration-filter' }, h('option', { value: '' }, 'All integrations'));
    var go = function (p) { location.hash = '#/connections' + query({ integration: integration.value, search: search.value.trim(), page: p || undefined }); };
    var form = h('form', { class: 'filters', onsubmit: function (e) { e.preventDefault(); go(0); } }, search, integration, h('button', { type: 'submit' }, 'Search'));
    var holder = h('div', { id: 'connections' }, h('p', { class: 'muted' }, 'Loading…'));
    show(h('h1', {}, 'Connections'), form, holder);
    api('GET', '/integrations').then(function (body) {
      body.data.forEach(function (i) { integration.appendChild(h('option', { value: i.unique_key, selected: i.unique_key === params.integration }, i.unique_key)); });
    }).catch(function () {});

    var mine = generation;
    var load = function () {
      return api('GET', '/dashboard/api/connections' + query({ integration: params.integration, search: params.search, page: page })).then(function (body) {
        if (mine !== generation) return;
        var rows = [];
        body.connections.forEach(function (c) {
          var user = c.end_user ? c.end_user.email || c.end_user.display_name || c.end_user.id : '';
          rows.push(h('tr', { class: 'connection', 'data-connection': c.connection_id },
            h('th', { colspan: 2 }, c.connection_id, ' ', h('span', { class: 'muted' }, c.provider_config_key)),
            h('td', { colspan: 2, class: 'muted' }, user),
            h('td', { colspan: 2, class: 'muted' }, 'created ', when(c.created)),
          ));
          if (c.syncs.length === 0) rows.push(h('tr', {}, h('td', { class: 'indent muted', colspan: 6 }, body.orchestration ? 'No sync deployed for this integration.' : 'This server runs no orchestration.')));
          c.syncs.forEach(function (s) { rows.push(syncRow(c, s, load)); });
        });
        var pager = h('div', { class: 'pager' },
          h('button', { type: 'button', id: 'prev-page', disabled: page === 0, onclick: function () { go(page - 1); } }, '← Previous'),
          h('span', { class: 'muted' }, 'Page ' + (page + 1)),
          h('button', { type: 'button', id: 'next-page', disabled: !body.has_more, onclick: function () { go(page + 1); } }, 'Next →'));
        holder.replaceChildren(
          table(['Sync', 'Status', 'Last run', 'Next run', 'Records', ''], rows.length ? rows : empty(6, 'No connection matches.'), { class: 'connections' }),
          pager,
        );
      }, function (err) { if (mine === generation) holder.replaceChildren(failure(err)); });
    };
    refreshTimer = setInterval(load, REFRESH_MS);
    return load();
  }

  function logLine(l, withJob) {
    return h('tr', { class: 'log ' + l.kind, 'data-kind': l.kind },
      h('td', { class: 'nowrap' }, when(l.created_at)),
      h('td', {}, badge(l.level)),
      h('td', {}, l.kind),
      withJob ? h('td', { class: 'nowrap' }, l.connection_id, ' · ', l.name, ' ', link('job', { id: l.job_id }, '#' + l.job_id.slice(0, 8), { class: 'job-link' })) : null,
      h('td', { class: 'message' }, h('pre', {}, l.message)),
    );
  }

  /** A paged list of log lines: `more` loads the next page under the previous ones. */
  function logList(title, filters, withJob, intro) {
    var rows = h('tbody', {});
    var more = h('button', { type: 'button', id: 'more', hidden: true }, 'Load more');
    var headers = ['Time', 'Level', 'Kind'].concat(withJob ? ['Run'] : []).concat(['Message']);
    var tableEl = h('table', { class: 'logs' }, h('thead', {}, h('tr', {}, headers.map(function (t) { return h('th', {}, t); }))), rows);
    var cursor;
    var page = function () {
      return api('GET', '/logs' + query(Object.assign({}, filters, { cursor: cursor }))).then(function (body) {
        body.logs.forEach(function (l) { rows.appendChild(logLine(l, withJob)); });
        if (!rows.children.length) rows.appendChild(empty(headers.length, 'No log line.'));
        cursor = body.next_cursor;
        more.hidden = !cursor;
      });
    };
    more.addEventListener('click', function () { page().catch(function (err) { main.appendChild(failure(err)); }); });
    show(h('h1', {}, title), intro, tableEl, more);
    return page();
  }

  function runs(params) {
    var crumbs = h('p', { class: 'muted' }, params.integration, ' · ', params.connection, ' · ', params.sync, ' — finished runs, newest first. ',
      link('history', params, 'Workflow history'));
    return logList('Runs of ' + params.sync, { kind: 'outcome', integration: params.integration, connectionId: params.connection, sync: params.sync, limit: 20 }, true, crumbs);
  }

  function job(params) {
    return logList('Logs of run ' + params.id, { jobId: params.id, order: 'asc', limit: 200 }, false, h('p', { class: 'muted' }, 'Script lines, HTTP calls and the outcome, oldest first.'));
  }

  function logs(params) {
    var f = {
      level: h('select', { id: 'level-filter' }, ['', 'debug', 'info', 'warn', 'error'].map(function (l) { return h('option', { value: l, selected: l === (params.level || '') }, l || 'Any level'); })),
      kind: h('select', { id: 'kind-filter' }, ['', 'log', 'http', 'outcome'].map(function (k) { return h('option', { value: k, selected: k === (params.kind || '') }, k || 'Any kind'); })),
      integration: h('input', { placeholder: 'Integration', value: params.integration || '' }),
      connectionId: h('input', { placeholder: 'Connection id', value: params.connectionId || '' }),
      from: h('input', { type: 'datetime-local', title: 'From', value: params.from ? params.from.slice(0, 16) : '' }),
      to: h('input', { type: 'datetime-local', title: 'To', value: params.to ? params.to.slice(0, 16) : '' }),
    };
    var iso = function (v) { return v ? new Date(v).toISOString() : undefined; };
    var form = h('form', {
      class: 'filters',
      onsubmit: function (e) {
        e.preventDefault();
        location.hash = '#/logs' + query({ level: f.level.value, kind: f.kind.value, integration: f.integration.value.trim(), connectionId: f.connectionId.value.trim(), from: iso(f.from.value), to: iso(f.to.value) });
      },
    }, f.level, f.kind, f.integration, f.connectionId, f.from, f.to, h('button', { type: 'submit' }, 'Filter'));
    return logList('Logs', { level: params.level, kind: params.kind, integration: params.integration, connectionId: params.connectionId, from: params.from, to: params.to, limit: 100 }, true, form);
  }

  function records(params) {
    var stack = [];
    var cursor;
    var holder = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
    show(h('h1', {}, params.model), h('p', { class: 'muted' }, params.integration, ' · ', params.connection), holder);
    var load = function () {
      return api('GET', '/records' + query({ model: params.model, limit: 25, cursor: cursor }), {
        headers: { 'provider-config-key': params.integration, 'connection-id': params.connection },
      }).then(function (body) {
        var rows = body.records.map(function (r) {
          var m = r._nango_metadata;
          var payload = Object.assign({}, r);
          delete payload._nango_metadata;
          return h('tr', { class: 'record', 'data-id': r.id },
            h('td', { class: 'nowrap' }, String(r.id)), h('td', {}, badge(m.last_action)), h('td', { class: 'nowrap' }, when(m.last_modified_at)),
            h('td', { class: 'message' }, h('pre', {}, JSON.stringify(payload, null, 1))));
        });
        var next = body.next_cursor;
        holder.replaceChildren(
          table(['Id', 'Last action', 'Modified', 'Payload'], rows.length ? rows : empty(4, 'No record.'), { class: 'records' }),
          h('div', { class: 'pager' },
            h('button', { type: 'button', id: 'prev-page', disabled: stack.length === 0, onclick: function () { cursor = stack.pop(); load(); } }, '← Previous'),
            h('span', { class: 'muted' }, 'Page ' + (stack.length + 1)),
            h('button', { type: 'button', id: 'next-page', disabled: !next, onclick: function () { stack.push(cursor); cursor = next; load(); } }, 'Next →')),
        );
      }, function (err) { holder.replaceChildren(failure(err)); });
    };
    return load();
  }

  function history(params) {
    return api('GET', '/dashboard/api/history' + query({ provider_config_key: params.integration, connection_id: params.connection, sync: params.sync, variant: params.variant })).then(function (body) {
      var rows = body.events.map(function (e) {
        return h('tr', { class: 'event' }, h('td', {}, String(e.id)), h('td', { class: 'nowrap' }, when(e.time)), h('td', {}, e.type), h('td', { class: 'message' }, e.details));
      });
      show(h('h1', {}, 'Workflow history'), h('p', { class: 'muted' }, h('code', {}, body.workflow_id), ' — current run, oldest event first.'),
        table(['#', 'Time', 'Event', 'Details'], rows, { class: 'history' }));
    });
  }

  var SETTINGS = [
    ['validate_action_input', 'Validate action inputs', 'An input that does not match the action\'s input model fails the call (invalid_action_input). Off: a warning in the run\'s logs, and the action runs.'],
    ['validate_action_output', 'Validate action outputs', 'An output that does not match the action\'s output model fails the call (invalid_action_output). Off: a warning in the run\'s logs, and the caller gets the output.'],
    ['validate_sync_records', 'Validate sync records', 'A record that does not match its model fails the sync run (invalid_sync_record). Off: a warning in the run\'s logs, and the record is saved.'],
  ];

  function settings() {
    return api('GET', '/environment/settings').then(function (body) {
      var status = h('p', { id: 'settings-status', class: 'muted', role: 'status' });
      var rows = SETTINGS.map(function (s) {
        var box = h('input', {
          type: 'checkbox',
          id: s[0],
          checked: body.data[s[0]],
          onchange: function () {
            var patch = {};
            patch[s[0]] = box.checked;
            status.className = 'muted';
            status.textContent = 'Saving…';
            api('PATCH', '/environment/settings', { body: patch }).then(function (saved) {
              box.checked = saved.data[s[0]];
              status.textContent = 'Saved: ' + s[1].toLowerCase() + ' is ' + (box.checked ? 'on' : 'off') + '.';
            }, function (err) {
              box.checked = !box.checked;
              status.className = 'error';
              status.textContent = err.message;
            });
          },
        });
        return h('div', { class: 'setting' }, box, h('label', { for: s[0] }, h('strong', {}, s[1]), h('span', { class: 'muted' }, s[2])));
      });
      show(h('h1', {}, 'Settings'),
        h('p', { class: 'muted' }, 'How strictly this environment\'s scripts are held to their nango.yaml models. Changes apply to runs that start afterwards.'),
        h('div', { class: 'card settings' }, rows, status));
    });
  }

  var OUTBOXES = { auth: 'auth webhook', lifecycle: 'sync lifecycle' };

  // Events that failed too often and were set aside: what they were, why they failed, a Retry each.
  function outbox() {
    return api('GET', '/environment/outbox/dead').then(function (body) {
      var status = h('p', { id: 'outbox-status', class: 'muted', role: 'status' });
      var rows = body.data.map(function (e) {
        var what = e.event.operation || e.event.kind || '';
        var retry = h('button', {
          type: 'button',
          class: 'retry',
          onclick: function () {
            retry.disabled = true;
            api('POST', '/environment/outbox/' + e.outbox + '/' + e.id + '/retry').then(function () {
              row.remove();
              status.className = 'muted';
              status.textContent = 'Sent again: ' + OUTBOXES[e.outbox] + ' ' + e.id + '.';
            }, function (err) {
              retry.disabled = false;
              status.className = 'error';
              status.textContent = err.message;
            });
          },
        }, 'Retry');
        var row = h('tr', { class: 'dead', 'data-id': e.outbox + '-' + e.id },
          h('td', {}, OUTBOXES[e.outbox] + ' ' + e.id), h('td', {}, what), h('td', {}, String(e.event.connection_id || '')),
          h('td', {}, String(e.attempts)), h('td', { class: 'nowrap' }, when(e.dead_at)), h('td', { class: 'message' }, e.last_error || ''), h('td', {}, retry));
        return row;
      });
      show(h('h1', {}, 'Outbox'),
        h('p', { class: 'muted' }, 'Events that failed too often and are no longer retried on their own. Retry sends one through again.'),
        table(['Event', 'What', 'Connection', 'Attempts', 'Set aside', 'Last error', ''], rows.length ? rows : [empty(7, 'Nothing set aside.')], { class: 'outbox' }), status);
    });
  }

  // ---- routing ------------------------------------------------------------------------------

  var VIEWS = { integrations: integrations, connections: connections, runs: runs, job: job, logs: logs, records: records, history: history, outbox: outbox, settings: settings };

  function route() {
    generation++;
    clearInterval(refreshTimer);
    refreshTimer = null;
    var hash = location.hash.replace(/^#\/?/, '');
    var name = hash.split('?')[0] || 'connections';
    var params = {};
    new URLSearchParams(hash.split('?')[1] || '').forEach(function (v, k) { params[k] = v; });
    if (!sessionStorage.getItem(STORAGE_KEY) || name === 'sign-in') return signIn();
    nav.hidden = false;
    nav.querySelectorAll('a').forEach(function (a) { a.classList.toggle('active', a.getAttribute('href') === '#/' + name); });
    var view = VIEWS[name] || connections;
    show(h('p', { class: 'muted' }, 'Loading…'));
    Promise.resolve(view(params)).catch(function (err) { show(failure(err)); });
  }

  document.getElementById('sign-out').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  route();
})();

// The HTML the end user sees (connect page, result page) and the browser SDK served at /sdk/frontend.js.
import type { ConnectionConfigField, ProviderDefinition } from '../providers';

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font-family:system-ui,sans-serif;max-width:520px;margin:40px auto;padding:0 16px;color:#1d2330}
h1{font-size:22px}.card{border:1px solid #d7dbe3;border-radius:8px;padding:14px 16px;margin:12px 0}
.card h2{font-size:16px;margin:0 0 8px}label{display:block;font-size:13px;margin:6px 0 2px}
input{width:100%;box-sizing:border-box;padding:6px 8px;border:1px solid #b9c0cc;border-radius:4px}
button{margin-top:10px;padding:7px 14px;border:0;border-radius:4px;background:#2f5bea;color:#fff;cursor:pointer}
.mode{font-size:12px;color:#667085}.ok{color:#137333}.err{color:#b3261e}`;

function page(title: string, body: string, script = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style></head><body>${body}${script ? `<script>${script}</script>` : ''}</body></html>`;
}

export interface ConnectPageIntegration {
  key: string;
  displayName: string;
  provider: ProviderDefinition;
  /** Connection config already given by the session's defaults: not asked again. */
  preset: Record<string, unknown>;
}

const MODE_LABEL: Record<string, string> = {
  OAUTH2: 'OAuth 2.0',
  OAUTH1: 'OAuth 1.0a',
  OAUTH2_CC: 'Client credentials',
  API_KEY: 'API key',
  BASIC: 'Username and password',
  NONE: 'No authentication',
};

function configInputs(fields: Record<string, ConnectionConfigField>, preset: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([name]) => preset[name] === undefined)
    .map(
      ([name, f]) =>
        `<label>${escape(f.title ?? name)}<input name="connection_config[${escape(name)}]" ${f.default ? `value="${escape(f.default)}"` : 'required'} ${
          f.pattern ? `pattern="${escape(f.pattern)}"` : ''
        } placeholder="${escape(f.example ?? '')}"></label>`,
    )
    .join('');
}

const CREDENTIAL_INPUTS: Record<string, string> = {
  API_KEY: '<label>API key<input name="apiKey" type="password" required></label>',
  BASIC: '<label>Username<input name="username" required></label><label>Password<input name="password" type="password"></label>',
  OAUTH2_CC: '<label>Client id<input name="client_id" required></label><label>Client secret<input name="client_secret" type="password" required></label>',
};

/** The connect page: one card per integration the session allows, each a form that starts its flow. */
export function connectPage(token: string, integrations: ConnectPageIntegration[]): string {
  const cards = integrations.map(({ key, displayName, provider, preset }) => {
    const redirect = provider.auth_mode === 'OAUTH2' || provider.auth_mode === 'OAUTH1';
    const action = redirect ? `/oauth/connect/${encodeURIComponent(key)}` : `/connect/auth/${encodeURIComponent(key)}`;
    return `<div class="card" data-integration="${escape(key)}"><h2>${escape(displayName)}</h2><div class="mode">${escape(MODE_LABEL[provider.auth_mode] ?? provider.auth_mode)}</div>
<form method="${redirect ? 'get' : 'post'}" action="${escape(action)}"><input type="hidden" name="connect_session_token" value="${escape(token)}">
${configInputs(provider.connection_config ?? {}, preset)}${CREDENTIAL_INPUTS[provider.auth_mode] ?? ''}
<button type="submit" id="connect-${escape(key)}">Connect ${escape(displayName)}</button></form></div>`;
  });
  const body = `<h1>Connect your accounts</h1>${cards.length ? cards.join('') : '<p>No integration is available for this session.</p>'}`;
  return page('Connect', body);
}

export interface AuthResult {
  ok: boolean;
  providerConfigKey?: string;
  connectionId?: string;
  error?: { code: string; message: string };
}

/**
 * The last page of every flow: tells the window that opened it (the browser SDK) the outcome with
 * postMessage, then closes; opened directly, it shows the outcome.
 */
export function resultPage(result: AuthResult): string {
  const message = { type: 'syncline:auth', ...result };
  const body = result.ok
    ? `<h1 class="ok" id="result">Connected</h1><p>${escape(result.providerConfigKey ?? '')} is connected as <code id="connection-id">${escape(result.connectionId ?? '')}</code>. You can close this window.</p>`
    : `<h1 class="err" id="result">Connection failed</h1><p><code>${escape(result.error?.code ?? '')}</code> ${escape(result.error?.message ?? '')}</p>`;
  // Only ids and error text go out, so any opener origin may receive them.
  const script = `(function(){var m=${JSON.stringify(message).replace(/</g, '\\u003c')};if(window.opener){try{window.opener.postMessage(m,'*')}catch(e){}setTimeout(function(){window.close()},50)}})();`;
  return page(result.ok ? 'Connected' : 'Connection failed', body, script);
}

/**
 * The browser SDK, served at /sdk/frontend.js as a plain script (global `Syncline`) that also works
 * as a CommonJS module.
 *
 * @example
 * <script src="http://localhost:3003/sdk/frontend.js"></script>
 * const syncline = new Syncline({ connectSessionToken, host: 'http://localhost:3003' });
 * const { connectionId } = await syncline.auth('github');                          // OAuth popup
 * await syncline.auth('stripe', { credentials: { apiKey: 'sk_live_…' } });         // API key
 */
export const FRONTEND_SDK = `(function (root) {
  'use strict';
  function SynclineFrontend(options) {
    options = options || {};
    var token = options.connectSessionToken || options.sessionToken;
    if (!token) throw new Error('Syncline: connectSessionToken is required');
    this.token = token;
    this.host = (options.host || (typeof location !== 'undefined' ? location.origin : '')).replace(/\\/+$/, '');
    this.width = options.width || 500;
    this.height = options.height || 700;
  }
  function query(obj) {
    var parts = [];
    for (var k in obj) if (obj[k] !== undefined && obj[k] !== null) parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(obj[k]));
    return parts.join('&');
  }
  /** auth(integration[, connectionId | options]): opens the OAuth popup, or posts credentials. Resolves {providerConfigKey, connectionId}. */
  SynclineFrontend.prototype.auth = function (integration, connectionIdOrOptions) {
    var opts = typeof connectionIdOrOptions === 'string' ? { connectionId: connectionIdOrOptions } : connectionIdOrOptions || {};
    var params = { connect_session_token: this.token, connection_id: opts.connectionId };
    var config = opts.params || opts.connectionConfig || {};
    for (var k in config) params['connection_config[' + k + ']'] = config[k];
    if (opts.credentials) return this.submit(integration, params, opts.credentials);
    return this.popup(this.host + '/oauth/connect/' + encodeURIComponent(integration) + '?' + query(params));
  };
  SynclineFrontend.prototype.submit = function (integration, params, credentials) {
    return fetch(this.host + '/connect/auth/' + encodeURIComponent(integration) + '?' + query(params), {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(credentials)
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) { var e = new Error((body.error && body.error.message) || 'Connection failed'); e.code = body.error && body.error.code; throw e; }
        return body;
      });
    });
  };
  SynclineFrontend.prototype.popup = function (url) {
    var host = this.host, w = this.width, h = this.height;
    return new Promise(function (resolve, reject) {
      var left = (screen.width - w) / 2, top = (screen.height - h) / 2;
      var win = window.open(url, 'syncline-auth', 'width=' + w + ',height=' + h + ',left=' + left + ',top=' + top);
      if (!win) return reject(new Error('Syncline: the popup was blocked'));
      var done = false;
      function finish(fn, value) { if (done) return; done = true; window.removeEventListener('message', onMessage); clearInterval(timer); fn(value); }
      function onMessage(event) {
        if (host && event.origin !== host) return;
        var m = event.data;
        if (!m || m.type !== 'syncline:auth') return;
        if (m.ok) finish(resolve, { providerConfigKey: m.providerConfigKey, connectionId: m.connectionId });
        else { var e = new Error((m.error && m.error.message) || 'Connection failed'); e.code = m.error && m.error.code; finish(reject, e); }
      }
      window.addEventListener('message', onMessage);
      var timer = setInterval(function () { if (win.closed) setTimeout(function () { finish(reject, new Error('Syncline: the window was closed')); }, 300); }, 500);
    });
  };
  /** Opens the connect page (every integration the session allows) in a popup. */
  SynclineFrontend.prototype.openConnectUI = function () {
    return window.open(this.host + '/connect?session_token=' + encodeURIComponent(this.token), 'syncline-connect', 'width=' + this.width + ',height=' + this.height);
  };
  if (typeof module === 'object' && module.exports) module.exports = { Syncline: SynclineFrontend };
  else root.Syncline = SynclineFrontend;
})(typeof self !== 'undefined' ? self : this);
`;

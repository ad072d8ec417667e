import type { ProviderDefinition } from './types';

/*
 * Known providers, written from each provider's public API documentation (the URL above each
 * entry). Users add or replace entries in their own providers.yaml (see `user-providers.ts`);
 * `getProvider` is the only way in. `test/providers/catalogue.test.ts` validates every entry.
 */

const RETRY_AFTER = { after: 'retry-after' } as const;

// https://developers.google.com/identity/protocols/oauth2/web-server
// access_type=offline + prompt=consent is how Google returns a refresh token on every consent.
function google(display_name: string, base_url: string, default_scopes: string[], response_path: string, limit_name: string, docs: string): ProviderDefinition {
  return {
    display_name,
    auth_mode: 'OAUTH2',
    categories: ['productivity'],
    docs,
    authorization_url: 'https://accounts.google.com/o/oauth2/v2/auth',
    token_url: 'https://oauth2.googleapis.com/token',
    authorization_params: { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' },
    default_scopes,
    scope_separator: ' ',
    proxy: {
      base_url,
      retry: { ...RETRY_AFTER, error_code: ['429', '5xx'] },
      paginate: { type: 'cursor', cursor_path_in_response: 'nextPageToken', cursor_name_in_request: 'pageToken', limit_name_in_request: limit_name, response_path },
    },
  };
}

// https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/
// Requests go through api.atlassian.com/ex/<product>/<cloudId>; the cloud id comes from
// GET https://api.atlassian.com/oauth/token/accessible-resources after consent.
function atlassian(display_name: string, product: 'jira' | 'confluence', default_scopes: string[], docs: string): ProviderDefinition {
  return {
    display_name,
    auth_mode: 'OAUTH2',
    categories: product === 'jira' ? ['ticketing'] : ['knowledge-base'],
    docs,
    authorization_url: 'https://auth.atlassian.com/authorize',
    token_url: 'https://auth.atlassian.com/oauth/token',
    authorization_params: { audience: 'api.atlassian.com', prompt: 'consent' },
    body_format: 'json',
    default_scopes: [...default_scopes, 'offline_access'],
    scope_separator: ' ',
    connection_config: { cloudId: { title: 'Atlassian cloud id', pattern: '^[0-9a-f-]{36}$' } },
    proxy: {
      base_url: `https://api.atlassian.com/ex/${product}/\${connectionConfig.cloudId}`,
      retry: RETRY_AFTER,
      paginate:
        product === 'jira'
          ? { type: 'offset', offset_name_in_request: 'startAt', offset_calculation_method: 'by-response-size', limit_name_in_request: 'maxResults', limit: 50 }
          : { type: 'link', link_path_in_response_body: '_links.next', limit_name_in_request: 'limit', limit: 50, response_path: 'results' },
    },
  };
}

export const PROVIDERS: Readonly<Record<string, ProviderDefinition>> = {
  // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
  // https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
  // https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
  github: {
    display_name: 'GitHub',
    auth_mode: 'OAUTH2',
    categories: ['dev-tools'],
    authorization_url: 'https://github.com/login/oauth/authorize',
    token_url: 'https://github.com/login/oauth/access_token',
    default_scopes: ['read:user'],
    scope_separator: ',',
    docs: 'https://docs.github.com/en/rest',
    proxy: {
      base_url: 'https://api.github.com',
      headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
      retry: { at: 'x-ratelimit-reset', after: 'retry-after', remaining: 'x-ratelimit-remaining' },
      paginate: { type: 'link', link_rel_in_response_header: 'next', limit_name_in_request: 'per_page', limit: 100 },
    },
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    webhook: {
      signature: { header: 'x-hub-signature-256', algorithm: 'hmac-sha256', prefix: 'sha256=' },
      event_type: { header: 'x-github-event' },
      connection: [
        { payload_path: 'installation.id', connection_config: 'installation_id' },
        { payload_path: 'repository.full_name', metadata: 'repo' },
        { payload_path: 'repository.full_name', metadata: ['owner', 'repo'] },
      ],
    },
  },
  // https://docs.gitlab.com/api/oauth2/ , https://docs.gitlab.com/api/rest/#pagination
  // https://docs.gitlab.com/user/gitlab_com/#rate-limits-on-gitlabcom (RateLimit-Reset is epoch seconds)
  gitlab: {
    display_name: 'GitLab',
    auth_mode: 'OAUTH2',
    categories: ['dev-tools'],
    authorization_url: 'https://gitlab.com/oauth/authorize',
    token_url: 'https://gitlab.com/oauth/token',
    default_scopes: ['read_api'],
    scope_separator: ' ',
    docs: 'https://docs.gitlab.com/api/rest/',
    proxy: {
      base_url: 'https://gitlab.com/api/v4',
      retry: { at: 'ratelimit-reset', after: 'retry-after', remaining: 'ratelimit-remaining' },
      paginate: { type: 'link', link_rel_in_response_header: 'next', limit_name_in_request: 'per_page', limit: 100 },
    },
  },
  // https://developers.google.com/calendar/api/v3/reference
  'google-calendar': google(
    'Google Calendar',
    'https://www.googleapis.com',
    ['https://www.googleapis.com/auth/calendar.readonly'],
    'items',
    'maxResults',
    'https://developers.google.com/calendar/api',
  ),
  // https://developers.google.com/drive/api/reference/rest/v3/files/list
  'google-drive': google(
    'Google Drive',
    'https://www.googleapis.com',
    ['https://www.googleapis.com/auth/drive.readonly'],
    'files',
    'pageSize',
    'https://developers.google.com/drive/api',
  ),
  // https://developers.google.com/gmail/api/reference/rest/v1/users.messages/list
  'google-mail': google(
    'Gmail',
    'https://gmail.googleapis.com',
    ['https://www.googleapis.com/auth/gmail.readonly'],
    'messages',
    'maxResults',
    'https://developers.google.com/gmail/api',
  ),
  // https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
  // https://learn.microsoft.com/en-us/graph/paging , https://learn.microsoft.com/en-us/graph/throttling
  microsoft: {
    display_name: 'Microsoft Graph',
    auth_mode: 'OAUTH2',
    categories: ['productivity'],
    authorization_url: 'https://login.microsoftonline.com/${connectionConfig.tenant}/oauth2/v2.0/authorize',
    token_url: 'https://login.microsoftonline.com/${connectionConfig.tenant}/oauth2/v2.0/token',
    default_scopes: ['offline_access', 'User.Read'],
    scope_separator: ' ',
    connection_config: { tenant: { title: 'Directory (tenant) id', default: 'common', pattern: '^[\\w.-]+$' } },
    docs: 'https://learn.microsoft.com/en-us/graph/overview',
    proxy: {
      base_url: 'https://graph.microsoft.com',
      retry: RETRY_AFTER,
      paginate: { type: 'link', link_path_in_response_body: '@odata.nextLink', response_path: 'value', limit_name_in_request: '$top', limit: 100 },
    },
  },
  // https://docs.slack.dev/authentication/installing-with-oauth , https://docs.slack.dev/apis/web-api/pagination
  slack: {
    display_name: 'Slack',
    auth_mode: 'OAUTH2',
    categories: ['communication'],
    authorization_url: 'https://slack.com/oauth/v2/authorize',
    token_url: 'https://slack.com/api/oauth.v2.access',
    default_scopes: ['channels:read'],
    scope_separator: ',',
    disable_pkce: true,
    docs: 'https://docs.slack.dev/reference/methods',
    proxy: {
      base_url: 'https://slack.com/api',
      retry: RETRY_AFTER,
      paginate: { type: 'cursor', cursor_path_in_response: 'response_metadata.next_cursor', cursor_name_in_request: 'cursor', limit_name_in_request: 'limit', limit: 200 },
    },
    // https://docs.slack.dev/authentication/verifying-requests-from-slack (the app's signing secret as webhook_secret)
    webhook: {
      signature: {
        header: 'x-slack-signature',
        algorithm: 'hmac-sha256',
        prefix: 'v0=',
        signed_payload: 'v0:${header.x-slack-request-timestamp}:${body}',
        timestamp: 'header.x-slack-request-timestamp',
        tolerance_seconds: 300,
      },
      event_type: { payload_path: 'event.type' },
      connection: [{ payload_path: 'team_id', connection_config: 'team_id' }],
    },
  },
  // https://developers.hubspot.com/docs/api/oauth-quickstart-guide
  // https://developers.hubspot.com/docs/api/usage-details (rate limits)
  // https://developers.hubspot.com/docs/api/crm/understanding-the-crm (paging.next.after)
  hubspot: {
    display_name: 'HubSpot',
    auth_mode: 'OAUTH2',
    categories: ['crm'],
    authorization_url: 'https://app.hubspot.com/oauth/authorize',
    token_url: 'https://api.hubapi.com/oauth/v1/token',
    scope_separator: ' ',
    default_scopes: ['oauth'],
    docs: 'https://developers.hubspot.com/docs/api/overview',
    proxy: {
      base_url: 'https://api.hubapi.com',
      retry: { after: 'retry-after', remaining: 'x-hubspot-ratelimit-remaining' },
      paginate: {
        type: 'cursor',
        cursor_path_in_response: 'paging.next.after',
        cursor_name_in_request: 'after',
        limit_name_in_request: 'limit',
        limit: 100,
        response_path: 'results',
      },
    },
    // https://developers.hubspot.com/docs/api/webhooks/validating-requests
    // v3 (current apps): base64 HMAC-SHA256 with the client secret of method + full URL + body +
    // timestamp (ms), refused after 5 minutes; v1 (older apps): sha256 of client secret + body.
    // Deliveries are arrays of events, each naming its portal (the HubSpot account).
    webhook: {
      signature: [
        {
          header: 'x-hubspot-signature-v3',
          algorithm: 'hmac-sha256',
          encoding: 'base64',
          secret: 'client_secret',
          signed_payload: '${method}${url}${body}${header.x-hubspot-request-timestamp}',
          timestamp: 'header.x-hubspot-request-timestamp',
          tolerance_seconds: 300,
        },
        { header: 'x-hubspot-signature', algorithm: 'sha256', secret: 'client_secret', signed_payload: '${secret}${body}' },
      ],
      event_type: { payload_path: 'subscriptionType' },
      connection: [{ payload_path: 'portalId', connection_config: 'portalId' }],
    },
  },
  // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
  // The token response names the org's instance_url, which every API call goes to.
  salesforce: {
    display_name: 'Salesforce',
    auth_mode: 'OAUTH2',
    categories: ['crm'],
    authorization_url: 'https://login.salesforce.com/services/oauth2/authorize',
    token_url: 'https://login.salesforce.com/services/oauth2/token',
    default_scopes: ['api', 'refresh_token'],
    scope_separator: ' ',
    connection_config_from: { token_response: ['instance_url'] },
    docs: 'https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/',
    proxy: {
      base_url: '${connectionConfig.instance_url}',
      paginate: { type: 'link', link_path_in_response_body: 'nextRecordsUrl', response_path: 'records' },
    },
  },
  // https://developers.notion.com/docs/authorization , https://developers.notion.com/reference/intro#pagination
  notion: {
    display_name: 'Notion',
    auth_mode: 'OAUTH2',
    categories: ['knowledge-base'],
    authorization_url: 'https://api.notion.com/v1/oauth/authorize',
    token_url: 'https://api.notion.com/v1/oauth/token',
    authorization_params: { owner: 'user' },
    authorization_method: 'header',
    body_format: 'json',
    disable_pkce: true,
    docs: 'https://developers.notion.com/reference',
    proxy: {
      base_url: 'https://api.notion.com',
      headers: { 'notion-version': '2022-06-28' },
      retry: RETRY_AFTER,
      paginate: { type: 'cursor', cursor_path_in_response: 'next_cursor', cursor_name_in_request: 'start_cursor', limit_name_in_request: 'page_size', limit: 100, response_path: 'results' },
    },
  },
  // https://linear.app/developers/oauth-2-0-authentication , https://linear.app/developers/rate-limiting
  linear: {
    display_name: 'Linear',
    auth_mode: 'OAUTH2',
    categories: ['ticketing'],
    authorization_url: 'https://linear.app/oauth/authorize',
    token_url: 'https://api.linear.app/oauth/token',
    authorization_params: { prompt: 'consent' },
    default_scopes: ['read'],
    scope_separator: ',',
    docs: 'https://linear.app/developers/graphql',
    proxy: {
      base_url: 'https://api.linear.app',
      retry: { at: 'x-ratelimit-requests-reset', remaining: 'x-ratelimit-requests-remaining', after: 'retry-after' },
    },
  },
  // https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/#pagination
  jira: atlassian('Jira', 'jira', ['read:jira-work', 'read:jira-user'], 'https://developer.atlassian.com/cloud/jira/platform/rest/v3/'),
  // https://developer.atlassian.com/cloud/confluence/rest/v2/intro/#using
  confluence: atlassian('Confluence', 'confluence', ['read:confluence-content.all', 'read:confluence-space.summary'], 'https://developer.atlassian.com/cloud/confluence/rest/v2/'),
  // https://developers.asana.com/docs/oauth , https://developers.asana.com/docs/pagination
  asana: {
    display_name: 'Asana',
    auth_mode: 'OAUTH2',
    categories: ['productivity'],
    authorization_url: 'https://app.asana.com/-/oauth_authorize',
    token_url: 'https://app.asana.com/-/oauth_token',
    scope_separator: ' ',
    docs: 'https://developers.asana.com/reference/rest-api-reference',
    proxy: {
      base_url: 'https://app.asana.com/api/1.0',
      retry: RETRY_AFTER,
      paginate: { type: 'cursor', cursor_path_in_response: 'next_page.offset', cursor_name_in_request: 'offset', limit_name_in_request: 'limit', limit: 100, response_path: 'data' },
    },
  },
  // https://developer.zendesk.com/documentation/ticketing/working-with-oauth/creating-and-using-oauth-tokens-with-the-api/
  // https://developer.zendesk.com/api-reference/introduction/pagination/ (cursor pagination: links.next)
  zendesk: {
    display_name: 'Zendesk',
    auth_mode: 'OAUTH2',
    categories: ['ticketing', 'support'],
    authorization_url: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/authorizations/new',
    token_url: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens',
    default_scopes: ['read'],
    scope_separator: ' ',
    connection_config: { subdomain: { title: 'Zendesk subdomain', example: 'acme', pattern: '^[a-z0-9][a-z0-9-]*$' } },
    docs: 'https://developer.zendesk.com/api-reference/',
    proxy: {
      base_url: 'https://${connectionConfig.subdomain}.zendesk.com',
      retry: RETRY_AFTER,
      paginate: { type: 'link', link_path_in_response_body: 'links.next', limit_name_in_request: 'page[size]', limit: 100 },
    },
  },
  // https://developers.intercom.com/docs/build-an-integration/learn-more/authentication/setting-up-oauth
  // https://developers.intercom.com/docs/references/rest-api/errors/rate-limiting (X-RateLimit-Reset: epoch seconds)
  intercom: {
    display_name: 'Intercom',
    auth_mode: 'OAUTH2',
    categories: ['support'],
    authorization_url: 'https://app.intercom.com/oauth',
    token_url: 'https://api.intercom.io/auth/eagle/token',
    disable_pkce: true,
    docs: 'https://developers.intercom.com/docs/references/rest-api/api.intercom.io/',
    proxy: {
      base_url: 'https://api.intercom.io',
      headers: { accept: 'application/json', 'intercom-version': '2.11' },
      retry: { at: 'x-ratelimit-reset', remaining: 'x-ratelimit-remaining' },
      paginate: { type: 'cursor', cursor_path_in_response: 'pages.next.starting_after', cursor_name_in_request: 'starting_after', limit_name_in_request: 'per_page', limit: 50, response_path: 'data' },
    },
  },
  // https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant
  // https://shopify.dev/docs/api/usage/pagination-rest (Link header), X-Shopify-Access-Token header
  shopify: {
    display_name: 'Shopify',
    auth_mode: 'OAUTH2',
    categories: ['e-commerce'],
    authorization_url: 'https://${connectionConfig.subdomain}.myshopify.com/admin/oauth/authorize',
    token_url: 'https://${connectionConfig.subdomain}.myshopify.com/admin/oauth/access_token',
    default_scopes: ['read_products'],
    scope_separator: ',',
    disable_pkce: true,
    connection_config: { subdomain: { title: 'Shop name (before .myshopify.com)', example: 'acme', pattern: '^[a-z0-9][a-z0-9-]*$' } },
    docs: 'https://shopify.dev/docs/api/admin-rest',
    proxy: {
      base_url: 'https://${connectionConfig.subdomain}.myshopify.com',
      headers: { 'x-shopify-access-token': '${accessToken}' },
      retry: RETRY_AFTER,
      paginate: { type: 'link', link_rel_in_response_header: 'next', limit_name_in_request: 'limit', limit: 250 },
    },
  },
  // https://airtable.com/developers/web/api/oauth-reference (PKCE required, Basic client auth)
  airtable: {
    display_name: 'Airtable',
    auth_mode: 'OAUTH2',
    categories: ['productivity'],
    authorization_url: 'https://airtable.com/oauth2/v1/authorize',
    token_url: 'https://airtable.com/oauth2/v1/token',
    authorization_method: 'header',
    default_scopes: ['data.records:read', 'schema.bases:read'],
    scope_separator: ' ',
    docs: 'https://airtable.com/developers/web/api/introduction',
    proxy: {
      base_url: 'https://api.airtable.com',
      retry: { ...RETRY_AFTER, error_code: ['429', '5xx'] },
      paginate: { type: 'cursor', cursor_path_in_response: 'offset', cursor_name_in_request: 'offset', limit_name_in_request: 'pageSize', limit: 100, response_path: 'records' },
    },
  },
  // https://developers.dropbox.com/oauth-guide (token_access_type=offline for a refresh token)
  dropbox: {
    display_name: 'Dropbox',
    auth_mode: 'OAUTH2',
    categories: ['storage'],
    authorization_url: 'https://www.dropbox.com/oauth2/authorize',
    token_url: 'https://api.dropboxapi.com/oauth2/token',
    authorization_params: { token_access_type: 'offline' },
    scope_separator: ' ',
    docs: 'https://www.dropbox.com/developers/documentation/http/documentation',
    proxy: { base_url: 'https://api.dropboxapi.com', retry: RETRY_AFTER },
  },
  // https://developer.box.com/guides/authentication/oauth2/ , https://developer.box.com/guides/api-calls/pagination/
  box: {
    display_name: 'Box',
    auth_mode: 'OAUTH2',
    categories: ['storage'],
    authorization_url: 'https://account.box.com/api/oauth2/authorize',
    token_url: 'https://api.box.com/oauth2/token',
    docs: 'https://developer.box.com/reference/',
    proxy: {
      base_url: 'https://api.box.com',
      retry: RETRY_AFTER,
      paginate: { type: 'offset', offset_name_in_request: 'offset', offset_calculation_method: 'by-response-size', limit_name_in_request: 'limit', limit: 100, response_path: 'entries' },
    },
  },
  // https://developers.zoom.us/docs/integrations/oauth/ , https://developers.zoom.us/docs/api/rest/pagination/
  zoom: {
    display_name: 'Zoom',
    auth_mode: 'OAUTH2',
    categories: ['video'],
    authorization_url: 'https://zoom.us/oauth/authorize',
    token_url: 'https://zoom.us/oauth/token',
    authorization_method: 'header',
    scope_separator: ' ',
    docs: 'https://developers.zoom.us/docs/api/',
    proxy: {
      base_url: 'https://api.zoom.us/v2',
      retry: RETRY_AFTER,
      paginate: { type: 'cursor', cursor_path_in_response: 'next_page_token', cursor_name_in_request: 'next_page_token', limit_name_in_request: 'page_size', limit: 300 },
    },
  },
  // https://pipedrive.readme.io/docs/marketplace-oauth-authorization (api_domain in the token response)
  pipedrive: {
    display_name: 'Pipedrive',
    auth_mode: 'OAUTH2',
    categories: ['crm'],
    authorization_url: 'https://oauth.pipedrive.com/oauth/authorize',
    token_url: 'https://oauth.pipedrive.com/oauth/token',
    authorization_method: 'header',
    disable_pkce: true,
    connection_config_from: { token_response: ['api_domain'] },
    docs: 'https://developers.pipedrive.com/docs/api/v1',
    proxy: {
      base_url: '${connectionConfig.api_domain}',
      retry: RETRY_AFTER,
      paginate: { type: 'offset', offset_name_in_request: 'start', offset_calculation_method: 'by-response-size', limit_name_in_request: 'limit', limit: 100, response_path: 'data' },
    },
  },
  // https://docs.stripe.com/keys , https://docs.stripe.com/rate-limits
  stripe: {
    display_name: 'Stripe',
    auth_mode: 'API_KEY',
    categories: ['payment'],
    docs: 'https://docs.stripe.com/api',
    proxy: { base_url: 'https://api.stripe.com', retry: { error_code: ['429', '5xx'] } },
    // https://docs.stripe.com/webhooks#verify-manually (Stripe-Signature: t=<unix>,v1=<hmac of "t.body">)
    // Connect events name the connected account; put it in the connection's metadata as stripe_account_id.
    webhook: {
      signature: { header: 'stripe-signature', algorithm: 'hmac-sha256', signature_part: 'v1', signed_payload: '${part.t}.${body}', timestamp: 'part.t', tolerance_seconds: 300 },
      event_type: { payload_path: 'type' },
      connection: [{ payload_path: 'account', metadata: 'stripe_account_id' }],
    },
  },
  // https://www.twilio.com/docs/usage/requests-to-twilio (Basic: Account SID / Auth Token)
  twilio: {
    display_name: 'Twilio',
    auth_mode: 'BASIC',
    categories: ['communication'],
    docs: 'https://www.twilio.com/docs/usage/api',
    proxy: { base_url: 'https://api.twilio.com', retry: RETRY_AFTER },
  },
  // https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/authentication
  // https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits
  sendgrid: {
    display_name: 'SendGrid',
    auth_mode: 'API_KEY',
    categories: ['marketing'],
    docs: 'https://www.twilio.com/docs/sendgrid/api-reference',
    proxy: { base_url: 'https://api.sendgrid.com', retry: { at: 'x-ratelimit-reset', remaining: 'x-ratelimit-remaining' } },
  },
  // https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/
  // The data centre (us19) comes from https://login.mailchimp.com/oauth2/metadata after consent.
  mailchimp: {
    display_name: 'Mailchimp',
    auth_mode: 'OAUTH2',
    categories: ['marketing'],
    authorization_url: 'https://login.mailchimp.com/oauth2/authorize',
    token_url: 'https://login.mailchimp.com/oauth2/token',
    disable_pkce: true,
    connection_config: { dc: { title: 'Data centre', example: 'us19', pattern: '^[a-z]+\\d+$' } },
    docs: 'https://mailchimp.com/developer/marketing/api/',
    proxy: {
      base_url: 'https://${connectionConfig.dc}.api.mailchimp.com',
      paginate: { type: 'offset', offset_name_in_request: 'offset', offset_calculation_method: 'by-response-size', limit_name_in_request: 'count', limit: 1000 },
    },
  },
  // https://developer.xero.com/documentation/guides/oauth2/auth-flow , https://developer.xero.com/documentation/guides/oauth2/limits/
  xero: {
    display_name: 'Xero',
    auth_mode: 'OAUTH2',
    categories: ['accounting'],
    authorization_url: 'https://login.xero.com/identity/connect/authorize',
    token_url: 'https://identity.xero.com/connect/token',
    authorization_method: 'header',
    default_scopes: ['offline_access', 'accounting.transactions.read'],
    scope_separator: ' ',
    connection_config: { tenant_id: { title: 'Xero tenant id', pattern: '^[0-9a-f-]{36}$' } },
    docs: 'https://developer.xero.com/documentation/api/accounting/overview',
    proxy: {
      base_url: 'https://api.xero.com',
      headers: { 'xero-tenant-id': '${connectionConfig.tenant_id}' },
      retry: RETRY_AFTER,
      paginate: { type: 'offset', offset_name_in_request: 'page', offset_start_value: 1, offset_calculation_method: 'per-page' },
    },
  },
  // https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
  // The company id arrives as `realmId` on the redirect.
  quickbooks: {
    display_name: 'QuickBooks Online',
    auth_mode: 'OAUTH2',
    categories: ['accounting'],
    authorization_url: 'https://appcenter.intuit.com/connect/oauth2',
    token_url: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
    authorization_method: 'header',
    default_scopes: ['com.intuit.quickbooks.accounting'],
    scope_separator: ' ',
    connection_config_from: { callback_query: ['realmId'] },
    docs: 'https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account',
    proxy: { base_url: 'https://quickbooks.api.intuit.com/v3/company/${connectionConfig.realmId}', headers: { accept: 'application/json' }, retry: RETRY_AFTER },
  },
  // https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/#using-basic-oauth (OAuth 1.0a)
  trello: {
    display_name: 'Trello',
    auth_mode: 'OAUTH1',
    categories: ['productivity'],
    request_token_url: 'https://trello.com/1/OAuthGetRequestToken',
    authorization_url: 'https://trello.com/1/OAuthAuthorizeToken',
    token_url: 'https://trello.com/1/OAuthGetAccessToken',
    authorization_params: { scope: 'read', expiration: 'never' },
    docs: 'https://developer.atlassian.com/cloud/trello/rest/',
    proxy: { base_url: 'https://api.trello.com', retry: RETRY_AFTER },
  },
  // https://docs.x.com/resources/fundamentals/authentication/oauth-1-0a/obtaining-user-access-tokens
  'twitter-oauth1': {
    display_name: 'X (Twitter), OAuth 1.0a',
    auth_mode: 'OAUTH1',
    categories: ['social'],
    request_token_url: 'https://api.x.com/oauth/request_token',
    authorization_url: 'https://api.x.com/oauth/authorize',
    token_url: 'https://api.x.com/oauth/access_token',
    docs: 'https://docs.x.com/x-api/introduction',
    proxy: { base_url: 'https://api.x.com', retry: { at: 'x-rate-limit-reset', remaining: 'x-rate-limit-remaining' } },
  },
  // https://developer.paypal.com/api/rest/authentication/ (client credentials)
  paypal: {
    display_name: 'PayPal',
    auth_mode: 'OAUTH2_CC',
    categories: ['payment'],
    token_url: 'https://api-m.paypal.com/v1/oauth2/token',
    authorization_method: 'header',
    docs: 'https://developer.paypal.com/api/rest/',
    proxy: { base_url: 'https://api-m.paypal.com', retry: { error_code: ['429', '5xx'] } },
  },
  // https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
  'microsoft-app': {
    display_name: 'Microsoft Graph (app-only)',
    auth_mode: 'OAUTH2_CC',
    categories: ['productivity'],
    token_url: 'https://login.microsoftonline.com/${connectionConfig.tenant}/oauth2/v2.0/token',
    default_scopes: ['https://graph.microsoft.com/.default'],
    scope_separator: ' ',
    connection_config: { tenant: { title: 'Directory (tenant) id', pattern: '^[\\w.-]+$' } },
    docs: 'https://learn.microsoft.com/en-us/graph/auth-v2-service',
    proxy: {
      base_url: 'https://graph.microsoft.com',
      retry: RETRY_AFTER,
      paginate: { type: 'link', link_path_in_response_body: '@odata.nextLink', response_path: 'value' },
    },
  },
  // https://platform.openai.com/docs/api-reference/authentication
  openai: {
    display_name: 'OpenAI',
    auth_mode: 'API_KEY',
    categories: ['ai'],
    docs: 'https://platform.openai.com/docs/api-reference',
    proxy: { base_url: 'https://api.openai.com', retry: { after: 'retry-after', error_code: ['429', '5xx'] } },
  },
  // https://docs.anthropic.com/en/api/getting-started (x-api-key header)
  anthropic: {
    display_name: 'Anthropic',
    auth_mode: 'API_KEY',
    categories: ['ai'],
    docs: 'https://docs.anthropic.com/en/api',
    proxy: {
      base_url: 'https://api.anthropic.com',
      headers: { 'x-api-key': '${apiKey}', 'anthropic-version': '2023-06-01' },
      retry: { after: 'retry-after', error_code: ['429', '5xx', '529'] },
    },
  },
  // https://developers.freshdesk.com/api/#authentication (API key as the Basic user name, any password)
  freshdesk: {
    display_name: 'Freshdesk',
    auth_mode: 'BASIC',
    categories: ['support'],
    connection_config: { subdomain: { title: 'Freshdesk subdomain', example: 'acme', pattern: '^[a-z0-9][a-z0-9-]*$' } },
    docs: 'https://developers.freshdesk.com/api/',
    proxy: {
      base_url: 'https://${connectionConfig.subdomain}.freshdesk.com',
      retry: RETRY_AFTER,
      paginate: { type: 'offset', offset_name_in_request: 'page', offset_start_value: 1, offset_calculation_method: 'per-page', limit_name_in_request: 'per_page', limit: 100 },
    },
  },
};

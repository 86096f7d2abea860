// The hosted OAuth 2.0 / OIDC endpoints as openid-client (panva's certified
// relying party, nobody here wrote it) uses them: discovery from the
// issuer, the authorization-code flow with PKCE, nonce and state (fetch
// plays a browser without JavaScript through the sign-in page), its checks
// of the ID token, userInfo, refresh, revocation, client credentials.
//
// Browsers resolve every `*.localhost` name to this machine; Node's resolver
// does not, so this file maps those names to 127.0.0.1 as a browser would.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  CreateResourceServerCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolDomainCommand,
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import * as oidc from 'openid-client';

import { adminClient, createApp, resolveLocalhostNames, startServer, uniqueName } from './helpers.js';

const CALLBACK = 'https://app.example.com/oidc/callback';
const USER_PASSWORD = 'Oidc-Passw0rd!';

const restoreLookup = resolveLocalhostNames();

let server;
let admin;

before(async () => {
  server = await startServer();
  admin = adminClient(server.endpoint);
});

after(async () => {
  restoreLookup();
  admin?.destroy();
  await server?.stop();
});

async function setUp(t) {
  const app = await createApp(admin, server.endpoint);
  t.after(app.cleanup);
  const prefix = uniqueName('oidc').toLowerCase().replace(/_/g, '-');
  await admin.send(new CreateUserPoolDomainCommand({ UserPoolId: app.poolId, Domain: prefix }));
  await admin.send(new CreateResourceServerCommand({
    UserPoolId: app.poolId, Identifier: 'files', Name: 'Files',
    Scopes: [{ ScopeName: 'list', ScopeDescription: 'List files' }],
  }));
  const { UserPoolClient: web } = await admin.send(new CreateUserPoolClientCommand({
    UserPoolId: app.poolId, ClientName: 'oidc-web', GenerateSecret: true,
    AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['code'],
    AllowedOAuthScopes: ['openid', 'email', 'files/list'], CallbackURLs: [CALLBACK],
  }));
  const { UserPoolClient: machine } = await admin.send(new CreateUserPoolClientCommand({
    UserPoolId: app.poolId, ClientName: 'oidc-m2m', GenerateSecret: true,
    AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['client_credentials'],
    AllowedOAuthScopes: ['files/list'],
  }));
  await admin.send(new AdminCreateUserCommand({
    UserPoolId: app.poolId, Username: 'olga', MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: 'olga@example.com' }, { Name: 'email_verified', Value: 'true' }],
  }));
  await admin.send(new AdminSetUserPasswordCommand({
    UserPoolId: app.poolId, Username: 'olga', Password: USER_PASSWORD, Permanent: true,
  }));
  return { app, web, machine };
}

/** A browser without JavaScript, through the sign-in page; returns the callback URL. */
async function browserSignIn(authorizeUrl, username, password) {
  let r = await fetch(authorizeUrl, { redirect: 'manual' });
  assert.equal(r.status, 302);
  const login = new URL(r.headers.get('location'), authorizeUrl);
  r = await fetch(login, { redirect: 'manual' });
  assert.equal(r.status, 200);
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const html = await r.text();
  const csrf = html.match(/name="_csrf" value="([^"]+)"/)[1];
  r = await fetch(login, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ _csrf: csrf, username, password }),
  });
  assert.equal(r.status, 302, await r.text());
  return new URL(r.headers.get('location'));
}

test('openid-client: discovery, code flow with PKCE, userInfo, refresh and revocation', async (t) => {
  const { app, web } = await setUp(t);
  const config = await oidc.discovery(new URL(app.issuer), web.ClientId, web.ClientSecret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid email files/list',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  const callback = await browserSignIn(url, 'olga', USER_PASSWORD);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
  });
  const claims = tokens.claims();
  assert.equal(claims['cognito:username'], 'olga');
  assert.equal(claims.aud, web.ClientId);
  assert.equal(tokens.scope ?? 'openid email files/list', 'openid email files/list');

  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.email, 'olga@example.com');

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token && refreshed.access_token !== tokens.access_token);
  await oidc.tokenRevocation(config, tokens.refresh_token);
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
});

test('openid-client: client credentials', async (t) => {
  const { app, machine } = await setUp(t);
  const config = await oidc.discovery(new URL(app.issuer), machine.ClientId, machine.ClientSecret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  const tokens = await oidc.clientCredentialsGrant(config, { scope: 'files/list' });
  const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url'));
  assert.equal(payload.sub, machine.ClientId);
  assert.equal(payload.scope, 'files/list');
  assert.equal(tokens.refresh_token, undefined);
});

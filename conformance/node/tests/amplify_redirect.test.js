// Amplify JS v6 (`aws-amplify`) signInWithRedirect against Cognate's hosted
// sign-in, in a real browser: Debian's Chromium (headless shell) driven by
// playwright-core runs a tiny app that uses Amplify as a web app does.
//
// What is proven: signInWithRedirect() sends the browser to Cognate's
// /oauth2/authorize (PKCE S256, state, identity_provider=COGNITO), which shows
// the hosted /login form; after the form, Cognate sends the browser back to
// the app with ?code&state; Amplify, on that page load, exchanges the code at
// /oauth2/token (a cross-origin fetch from the app) and is signed in: Hub
// 'signInWithRedirect' and 'signedIn', getCurrentUser() and fetchAuthSession()
// with the right claims; a forced refresh (GetTokensFromRefreshToken at
// userPoolEndpoint, a cross-origin JSON call, so Cognate's CORS preflight
// answer is exercised too) keeps the OAuth scopes. signOut() revokes the
// refresh token (RevokeToken) and goes through Cognate's /logout to the app's
// sign-out URL; the hosted session is gone after it: a new signInWithRedirect
// shows the form again. A redirectSignIn the app client does not list ends on
// Cognate's error page, never at the app.
//
// How:
// - TLS. Amplify hard-codes `https://${domain}/oauth2/...`, so the server is
//   started with --dev-tls: it makes a local development CA and a certificate
//   for localhost, 127.0.0.1 and `*.auth.{region}.localhost`. Node (the AWS
//   SDK clients, the readiness check) trusts only that CA. Chromium cannot be made to trust the CA: on Linux it
//   reads trust anchors from an NSS database, and adding one needs NSS's
//   certutil, which the machines do not have. Instead of Playwright's
//   `ignoreHTTPSErrors` (any certificate at all), Chromium is started with
//   --ignore-certificate-errors-spki-list=<SHA-256 of the leaf's public key>:
//   it accepts this one server key and still refuses any other certificate
//   error. That flag does not check the name either, so the first test checks
//   with Node (OpenSSL), trusting only the CA, that the certificate is valid
//   for the pool domain's name and for no other.
// - The app. An entry importing Amplify, signInWithRedirect, getCurrentUser,
//   fetchAuthSession, signOut and Hub is bundled at test time with esbuild
//   (IIFE, platform browser) into a temporary directory, and served with an
//   index.html that carries the Amplify config from a small HTTP server at
//   http://localhost:<port>/ (localhost is a secure context, so WebCrypto is
//   there). The config points userPoolEndpoint at Cognate's API.

import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';

import {
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  CreateUserPoolDomainCommand,
  GetTokensFromRefreshTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import * as esbuild from 'esbuild';

import {
  NODE_DIR,
  adminClient,
  createApp,
  launchChromium,
  publicClient,
  rejection,
  startServer,
  tlsClientOptions,
  uniqueName,
} from './helpers.js';

const USERNAME = 'amy';
const PASSWORD = 'Ampl1fy-Passw0rd!';
const SCOPES = ['openid', 'email', 'profile', 'aws.cognito.signin.user.admin'];

// The app that runs in the page. The test reads what Amplify did from
// window.hubEvents and calls Amplify through window.app.
const APP_ENTRY = `
import { Amplify } from 'aws-amplify';
import { fetchAuthSession, getCurrentUser, signInWithRedirect, signOut } from 'aws-amplify/auth';
import { Hub } from 'aws-amplify/utils';

const describe = (err) => ({ name: err?.name, message: err?.message });
window.hubEvents = [];
Hub.listen('auth', ({ payload }) => {
  window.hubEvents.push({ event: payload.event, error: payload.data?.error ? describe(payload.data.error) : undefined });
});
const thrown = (name) => (err) => window.hubEvents.push({ event: name + ' threw', error: describe(err) });
window.app = {
  // Both navigate away: the test does not wait for them here.
  signIn: () => { signInWithRedirect().catch(thrown('signInWithRedirect')); },
  signOut: () => { signOut().catch(thrown('signOut')); },
  currentUser: () => getCurrentUser().then((user) => ({ user }), (err) => ({ error: describe(err) })),
  session: (forceRefresh) => fetchAuthSession({ forceRefresh }).then(
    (s) => ({ id: s.tokens?.idToken?.payload, access: s.tokens?.accessToken?.payload, userSub: s.userSub }),
    (err) => ({ error: describe(err) }),
  ),
};
// Listen first: configure() completes a redirect sign-in in flight.
Amplify.configure({ Auth: { Cognito: window.COGNITO } });
`;

let tmp;
let server;
let admin;
let pub;
let browser;
let appServer;
let appUrl;
let bundle;
let appConfig; // what index.html hands Amplify; each test sets it
let prefix;
let domainHost; // <prefix>.auth.us-east-1.localhost:<port>
let ca;
let p; // the pool: { app, userSub }

/** Cognate's development CA (PEM) and what Chromium's
 * --ignore-certificate-errors-spki-list takes for its server key. */
function devCertificates(dir) {
  const leaf = new X509Certificate(fs.readFileSync(path.join(dir, 'localhost.pem')));
  return {
    ca: fs.readFileSync(path.join(dir, 'cognate-dev-ca.pem'), 'utf8'),
    spki: createHash('sha256').update(leaf.publicKey.export({ type: 'spki', format: 'der' })).digest('base64'),
  };
}

function indexHtml() {
  const config = JSON.stringify(appConfig).replace(/</g, '\\u003c');
  return `<!doctype html>\n<meta charset="utf-8">\n<title>Amplify app</title>\n` +
    `<script>window.COGNITO = ${config};</script>\n<script src="/app.js"></script>\n`;
}

/** The Amplify config of the test's client, sign-in coming back to `signInPath`. */
function amplifyConfig(signInPath = '/') {
  return {
    userPoolId: p.app.poolId,
    userPoolClientId: p.app.clientId,
    userPoolEndpoint: server.endpoint,
    loginWith: {
      oauth: {
        domain: domainHost,
        scopes: SCOPES,
        redirectSignIn: [`${appUrl}${signInPath}`],
        redirectSignOut: [`${appUrl}/bye`],
        responseType: 'code',
      },
    },
  };
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cognate-amplify-redirect-'));
  prefix = uniqueName('amp');
  const devDir = path.join(tmp, 'tls');
  server = await startServer({ tls: { devDir } });
  const certs = devCertificates(devDir);
  ca = certs.ca;
  domainHost = `${prefix}.auth.us-east-1.localhost:${server.port}`;
  admin = adminClient(server.endpoint, tlsClientOptions(ca));
  pub = publicClient(server.endpoint, tlsClientOptions(ca));

  const built = await esbuild.build({
    stdin: { contents: APP_ENTRY, resolveDir: NODE_DIR, sourcefile: 'app-entry.js' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    outfile: path.join(tmp, 'app.js'),
    logLevel: 'silent',
  });
  assert.deepEqual(built.errors, []);
  bundle = fs.readFileSync(path.join(tmp, 'app.js'));

  appServer = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    if (pathname === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(bundle);
    } else if (pathname === '/favicon.ico') {
      res.writeHead(404);
      res.end();
    } else {
      // Every other path is the app (/, /bye, ...).
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(indexHtml());
    }
  });
  await new Promise((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  appUrl = `http://localhost:${appServer.address().port}`;

  browser = await launchChromium([`--ignore-certificate-errors-spki-list=${certs.spki}`]);

  // One pool for the file: its domain's name is in the certificate.
  const app = await createApp(admin, server.endpoint, {
    client: {
      ClientName: 'amplify-web',
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: SCOPES,
      SupportedIdentityProviders: ['COGNITO'],
      CallbackURLs: [`${appUrl}/`],
      LogoutURLs: [`${appUrl}/bye`],
    },
  });
  await admin.send(new CreateUserPoolDomainCommand({ UserPoolId: app.poolId, Domain: prefix }));
  await admin.send(new AdminCreateUserCommand({
    UserPoolId: app.poolId, Username: USERNAME, MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: 'amy@example.com' }, { Name: 'email_verified', Value: 'true' }],
  }));
  await admin.send(new AdminSetUserPasswordCommand({
    UserPoolId: app.poolId, Username: USERNAME, Password: PASSWORD, Permanent: true,
  }));
  const user = await admin.send(new AdminGetUserCommand({ UserPoolId: app.poolId, Username: USERNAME }));
  p = { app, userSub: user.UserAttributes.find((a) => a.Name === 'sub').Value };
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (appServer ? appServer.close(resolve) : resolve()));
  await p?.app.cleanup();
  admin?.destroy();
  pub?.destroy();
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * A fresh browser context on the app, recording what the page loads and
 * where the main frame goes.
 */
async function openApp(t, pathname = '/') {
  const context = await browser.newContext();
  t.after(() => context.close());
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const log = { navigations: [], responses: [], console: [] };
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) log.navigations.push(frame.url());
  });
  page.on('response', (r) => {
    log.responses.push({
      method: r.request().method(),
      url: r.url(),
      status: r.status(),
      target: r.request().headers()['x-amz-target'],
    });
  });
  page.on('console', (m) => log.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.console.push(`pageerror: ${e.message}`));
  // The first URL loaded (redirects included) that `match` accepts.
  log.requested = (match) => log.responses.map((r) => new URL(r.url)).find(match);
  log.dump = () => JSON.stringify({ navigations: log.navigations, responses: log.responses, console: log.console }, null, 1).slice(0, 6000);
  await page.goto(`${appUrl}${pathname}`);
  await page.waitForFunction(() => window.app !== undefined);
  return { page, log };
}

const onDomain = (pathname) => (url) => url.host === domainHost && url.pathname === pathname;

async function hubEvents(page) {
  return page.evaluate(() => window.hubEvents);
}

test('amplify redirect: the development certificate is valid for the pool domain to a client trusting its CA', async () => {
  // Chromium accepts the server's key by its hash, whatever the name: the name
  // is checked here.
  const authorized = (servername) => new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, servername, ca });
    socket.once('secureConnect', () => {
      resolve(socket.authorized);
      socket.destroy();
    });
    socket.once('error', (e) => resolve(e.code));
  });
  assert.equal(await authorized(`${prefix}.auth.us-east-1.localhost`), true);
  assert.equal(await authorized('localhost'), true);
  assert.equal(await authorized('example.com'), 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('amplify redirect: signInWithRedirect through the hosted sign-in, tokens, refresh, signOut through /logout', async (t) => {
  appConfig = amplifyConfig('/');
  const { page, log } = await openApp(t);
  assert.equal((await page.evaluate(() => window.app.currentUser())).error?.name, 'UserUnAuthenticatedException');

  // Amplify sends the browser to Cognate's authorize endpoint, which shows the form.
  await page.evaluate(() => window.app.signIn());
  await page.waitForURL(onDomain('/login'));
  const authorize = log.requested(onDomain('/oauth2/authorize'));
  assert.ok(authorize, log.dump());
  const q = Object.fromEntries(authorize.searchParams);
  assert.equal(q.client_id, p.app.clientId);
  assert.equal(q.redirect_uri, `${appUrl}/`);
  assert.equal(q.response_type, 'code');
  assert.equal(q.identity_provider, 'COGNITO');
  assert.equal(q.scope, SCOPES.join(' '));
  assert.equal(q.code_challenge_method, 'S256');
  assert.match(q.code_challenge, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(q.state);

  await page.locator('#username').fill(USERNAME);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('button[type="submit"]').click();

  // Back at the app with the code; Amplify exchanges it on that page load.
  await page.waitForFunction(() =>
    (window.hubEvents ?? []).some((e) => e.event === 'signedIn' || /failure|threw/.test(e.event)));
  const events = await hubEvents(page);
  assert.deepEqual(events.map((e) => e.event), ['signInWithRedirect', 'signedIn'], `${JSON.stringify(events)}\n${log.dump()}`);
  const landed = log.requested((u) => u.origin === appUrl && u.searchParams.has('code'));
  assert.ok(landed, log.dump());
  assert.equal(landed.pathname, '/');
  assert.equal(landed.searchParams.get('state'), q.state);
  const exchange = log.responses.find((r) => r.method === 'POST' && r.url === `https://${domainHost}/oauth2/token`);
  assert.equal(exchange?.status, 200, log.dump());
  assert.equal(page.url(), `${appUrl}/`, 'Amplify took the code out of the address bar');

  const current = await page.evaluate(() => window.app.currentUser());
  assert.equal(current.user?.username, USERNAME, JSON.stringify(current));
  assert.equal(current.user.userId, p.userSub);

  const session = await page.evaluate(() => window.app.session(false));
  assert.ok(session.id && session.access, JSON.stringify(session));
  assert.equal(session.userSub, p.userSub);
  assert.equal(session.id.sub, p.userSub);
  assert.equal(session.id.aud, p.app.clientId);
  assert.equal(session.id.token_use, 'id');
  assert.equal(session.id.iss, p.app.issuer);
  assert.equal(session.id['cognito:username'], USERNAME);
  assert.equal(session.id.email, 'amy@example.com');
  assert.equal(session.access.username, USERNAME);
  assert.equal(session.access.client_id, p.app.clientId);
  assert.equal(session.access.token_use, 'access');
  assert.deepEqual(session.access.scope.split(' ').sort(), [...SCOPES].sort());

  // A forced refresh: GetTokensFromRefreshToken, cross-origin, at userPoolEndpoint.
  const refreshed = await page.evaluate(() => window.app.session(true));
  assert.ok(refreshed.access, `${JSON.stringify(refreshed)}\n${log.dump()}`);
  const refreshCall = log.responses.find((r) => r.target?.endsWith('.GetTokensFromRefreshToken'));
  assert.equal(refreshCall?.status, 200, log.dump());
  assert.equal(refreshCall.url, `${server.endpoint}/`);
  assert.notEqual(refreshed.access.jti, session.access.jti);
  assert.equal(refreshed.access.username, USERNAME);
  assert.deepEqual(refreshed.access.scope.split(' ').sort(), [...SCOPES].sort());
  assert.equal(refreshed.id.sub, p.userSub);

  // signOut: RevokeToken, then Cognate's /logout, then the app's sign-out URL.
  const refreshToken = await page.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.endsWith('.refreshToken'));
    return key && localStorage.getItem(key);
  });
  assert.ok(refreshToken);
  await page.evaluate(() => window.app.signOut());
  await page.waitForURL(`${appUrl}/bye`);
  const revoke = log.responses.find((r) => r.target?.endsWith('.RevokeToken'));
  assert.equal(revoke?.status, 200, log.dump());
  const logout = log.requested(onDomain('/logout'));
  assert.ok(logout, log.dump());
  assert.equal(logout.searchParams.get('client_id'), p.app.clientId);
  assert.equal(logout.searchParams.get('logout_uri'), `${appUrl}/bye`);
  await page.waitForFunction(() => window.app !== undefined);
  assert.equal((await page.evaluate(() => window.app.currentUser())).error?.name, 'UserUnAuthenticatedException');
  const revoked = await rejection(pub.send(new GetTokensFromRefreshTokenCommand({
    ClientId: p.app.clientId, RefreshToken: refreshToken,
  })));
  assert.equal(revoked.name, 'NotAuthorizedException');

  // The hosted session is over: signing in again shows the form.
  await page.goto(`${appUrl}/`);
  await page.waitForFunction(() => window.app !== undefined);
  await page.evaluate(() => window.app.signIn());
  await page.waitForURL(onDomain('/login'));
  assert.equal(await page.locator('#username').isVisible(), true);
  assert.equal(await page.locator('#password').isVisible(), true);
});

test('amplify redirect: a redirectSignIn the client does not list ends on the error page, never at the app', async (t) => {
  appConfig = amplifyConfig('/unregistered');
  const { page, log } = await openApp(t, '/unregistered');
  await page.evaluate(() => window.app.signIn());
  await page.waitForURL(onDomain('/oauth2/authorize'));
  const authorize = log.responses.find((r) => onDomain('/oauth2/authorize')(new URL(r.url)));
  assert.equal(authorize?.status, 400, log.dump());
  assert.equal(new URL(page.url()).searchParams.get('redirect_uri'), `${appUrl}/unregistered`);
  assert.equal(await page.getByRole('alert').textContent(), 'redirect_mismatch');
  assert.ok(!log.responses.slice(2).some((r) => r.url.startsWith(appUrl)), log.dump());
});

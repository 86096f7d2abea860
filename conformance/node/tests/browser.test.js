// The hosted pages in a real browser: Debian's Chromium (headless shell)
// driven by playwright-core. Chromium resolves `*.localhost` names to this
// machine itself and treats them as secure contexts, so the pool domain
// `{prefix}.auth.us-east-1.localhost` works with no DNS and no TLS.
//
// The app is a small HTTP server on http://localhost:<port>/cb that only
// records where the browser arrives; the test plays its back end (the code
// exchange) with fetch.
//
// With COGNATE_SCREENSHOTS=<dir>, the pages are also saved there as PNG
// (scripts/login-screenshots does this for docs/login.md).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  AssociateSoftwareTokenCommand,
  CreateManagedLoginBrandingCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolDomainCommand,
  InitiateAuthCommand,
  SetUICustomizationCommand,
  SetUserMFAPreferenceCommand,
  SetUserPoolMfaConfigCommand,
  VerifySoftwareTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { generate } from 'otplib';

import {
  adminClient, createApp, launchChromium, publicClient, readCode, resolveLocalhostNames, startServer, uniqueName,
} from './helpers.js';

const PASSWORD = 'Br0wser-Passw0rd!';
const SHOTS = process.env.COGNATE_SCREENSHOTS;

// The test's own fetches (the app's back end) resolve `*.localhost` as the
// browser does.
const restoreLookup = resolveLocalhostNames();

let server;
let admin;
let browser;
let app;
let appUrl;

before(async () => {
  // The device grant is an extension (off by default); its test needs it.
  server = await startServer({ extraArgs: ['--oauth-extensions', 'device-grant'] });
  admin = adminClient(server.endpoint);
  browser = await launchChromium();
  app = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('app callback');
  });
  await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://localhost:${app.address().port}`;
});

after(async () => {
  restoreLookup();
  await browser?.close();
  await new Promise((resolve) => (app ? app.close(resolve) : resolve()));
  admin?.destroy();
  await server?.stop();
});

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** A page in a browser context of its own (no cookies), closed after the test. */
async function freshPage(t, options = {}) {
  const context = await browser.newContext(options);
  t.after(() => context.close());
  return context.newPage();
}

/** Fills the sign-in form and submits it. */
async function submitSignIn(page, username = 'bea', password = PASSWORD) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function pool(t, { managedLoginVersion = 1 } = {}) {
  const created = await createApp(admin, server.endpoint);
  t.after(created.cleanup);
  const prefix = uniqueName('web').toLowerCase().replace(/_/g, '-');
  await admin.send(new CreateUserPoolDomainCommand({
    UserPoolId: created.poolId, Domain: prefix, ManagedLoginVersion: managedLoginVersion,
  }));
  const client = async (name) => {
    const { UserPoolClient: c } = await admin.send(new CreateUserPoolClientCommand({
      UserPoolId: created.poolId, ClientName: name, GenerateSecret: true,
      AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['code'], AllowedOAuthScopes: ['openid', 'email'],
      CallbackURLs: [`${appUrl}/cb`], LogoutURLs: [`${appUrl}/bye`],
    }));
    return c;
  };
  const shop = await client('Shop');
  const blog = await client('Blog');
  await admin.send(new AdminCreateUserCommand({
    UserPoolId: created.poolId, Username: 'bea', MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: 'bea@example.com' }, { Name: 'email_verified', Value: 'true' }],
  }));
  await admin.send(new AdminSetUserPasswordCommand({
    UserPoolId: created.poolId, Username: 'bea', Password: PASSWORD, Permanent: true,
  }));
  const domain = `http://${prefix}.auth.us-east-1.localhost:${server.port}`;
  const authorize = (c, redirect = `${appUrl}/cb`) =>
    `${domain}/oauth2/authorize?` +
    new URLSearchParams({ response_type: 'code', client_id: c.ClientId, redirect_uri: redirect, scope: 'openid email', state: 'xyz' });
  return { app: created, domain, shop, blog, authorize };
}

async function exchange(domain, client, code) {
  const r = await fetch(`${domain}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.ClientId}:${client.ClientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${appUrl}/cb` }),
  });
  return { status: r.status, body: await r.json() };
}

test('browser: sign in on the hosted page, single sign-on into a second app, logout', async (t) => {
  const p = await pool(t);
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();

  await page.goto(p.authorize(p.shop));
  assert.match(new URL(page.url()).pathname, /^\/login$/);
  assert.equal(await page.getByRole('heading').textContent(), 'Sign in to Shop');
  await shot(page, 'sign-in');

  // Labels name the fields: a screen reader (and Playwright) finds them.
  await page.getByLabel('Username').fill('bea');
  await page.getByLabel('Password').fill('not-her-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(await page.getByRole('alert').textContent(), 'Incorrect username or password.');
  await shot(page, 'sign-in-error');

  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${appUrl}/cb?**`);
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('state'), 'xyz');
  const tokens = await exchange(p.domain, p.shop, back.searchParams.get('code'));
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.ok(tokens.body.id_token && tokens.body.refresh_token);

  // The session cookie signs her into the pool's other app without a form.
  await page.goto(p.authorize(p.blog));
  await page.waitForURL(`${appUrl}/cb?**`);
  const blog = await exchange(p.domain, p.blog, new URL(page.url()).searchParams.get('code'));
  assert.equal(blog.status, 200, JSON.stringify(blog.body));

  // Logout ends the session: the next authorize shows the form again.
  await page.goto(`${p.domain}/logout?` + new URLSearchParams({ client_id: p.shop.ClientId, logout_uri: `${appUrl}/bye` }));
  assert.equal(page.url(), `${appUrl}/bye`);
  await page.goto(p.authorize(p.blog));
  assert.match(new URL(page.url()).pathname, /^\/login$/);
});

test('browser: a forged CSRF token and an unregistered redirect URI are refused', async (t) => {
  const p = await pool(t);
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();

  await page.goto(p.authorize(p.shop));
  await page.locator('input[name="_csrf"]').evaluate((el) => { el.value = 'forged'; });
  await page.getByLabel('Username').fill('bea');
  await page.getByLabel('Password').fill(PASSWORD);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  assert.equal(response.status(), 403);
  assert.match(await page.getByRole('alert').textContent(), /CSRF/);

  const response2 = await page.goto(p.authorize(p.shop, 'https://evil.example/cb'));
  assert.equal(response2.status(), 400);
  assert.ok(page.url().startsWith(p.domain), 'never sent to the unregistered URI');
  assert.equal(await page.getByRole('alert').textContent(), 'redirect_mismatch');
  await shot(page, 'error');
});

/** A TOTP code of a step that is not about to end, and that step. */
async function totpCode(secret, notStep = -1) {
  for (;;) {
    const now = Date.now() / 1000;
    const step = Math.floor(now / 30);
    if (step !== notStep && 30 - (now - step * 30) > 3) {
      return { code: await generate({ secret, epoch: step * 30 }), step };
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

test('browser: TOTP MFA and a required new password on the hosted pages', async (t) => {
  const p = await pool(t);
  const pub = publicClient(server.endpoint);
  t.after(() => pub.destroy());
  await admin.send(new SetUserPoolMfaConfigCommand({
    UserPoolId: p.app.poolId, MfaConfiguration: 'OPTIONAL', SoftwareTokenMfaConfiguration: { Enabled: true },
  }));
  // Bea adds an authenticator app through the API.
  const signedIn = await pub.send(new InitiateAuthCommand({
    ClientId: p.app.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'bea', PASSWORD },
  }));
  const AccessToken = signedIn.AuthenticationResult.AccessToken;
  const { SecretCode } = await pub.send(new AssociateSoftwareTokenCommand({ AccessToken }));
  const first = await totpCode(SecretCode);
  await pub.send(new VerifySoftwareTokenCommand({ AccessToken, UserCode: first.code }));
  await pub.send(new SetUserMFAPreferenceCommand({
    AccessToken, SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
  }));

  const page = await freshPage(t);
  await page.goto(p.authorize(p.shop));
  await submitSignIn(page);
  assert.equal(await page.getByRole('heading').textContent(), 'Two-step verification');
  await shot(page, 'mfa');
  await page.getByLabel('Authenticator code').fill('000000');
  await page.getByRole('button', { name: 'Continue' }).click();
  assert.match(await page.getByRole('alert').textContent(), /code/i);
  const second = await totpCode(SecretCode, first.step);
  await page.getByLabel('Authenticator code').fill(second.code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${appUrl}/cb?**`);
  const tokens = await exchange(p.domain, p.shop, new URL(page.url()).searchParams.get('code'));
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));

  // A user the operator created must choose a password first.
  await admin.send(new AdminCreateUserCommand({
    UserPoolId: p.app.poolId, Username: 'cal', TemporaryPassword: 'Temp-Passw0rd!', MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: 'cal@example.com' }],
  }));
  const other = await browser.newContext();
  t.after(() => other.close());
  const page2 = await other.newPage();
  await page2.goto(p.authorize(p.shop));
  await page2.getByLabel('Username').fill('cal');
  await page2.getByLabel('Password').fill('Temp-Passw0rd!');
  await page2.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(await page2.getByRole('heading').textContent(), 'Change your password');
  await shot(page2, 'new-password');
  await page2.getByLabel('New password').fill('short');
  await page2.getByRole('button', { name: 'Continue' }).click();
  assert.match(await page2.getByRole('alert').textContent(), /[Pp]assword/);
  await page2.getByLabel('New password').fill('Chosen-Passw0rd!');
  await page2.getByRole('button', { name: 'Continue' }).click();
  await page2.waitForURL(`${appUrl}/cb?**`);
  const cal = await exchange(p.domain, p.shop, new URL(page2.url()).searchParams.get('code'));
  assert.equal(cal.status, 200, JSON.stringify(cal.body));
});

test('browser: sign up, ask for a new code, confirm and be signed in; reset a forgotten password', async (t) => {
  const p = await pool(t);
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  const email = `${uniqueName('dan')}@example.com`.toLowerCase();

  await page.goto(p.authorize(p.shop));
  await page.getByRole('link', { name: 'Create an account' }).click();
  assert.equal(await page.getByRole('heading').textContent(), 'Create an account');
  await shot(page, 'sign-up');
  await page.getByLabel('Username').fill('dan');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('weak');
  await page.getByRole('button', { name: 'Sign up' }).click();
  assert.match(await page.getByRole('alert').textContent(), /Password did not conform/);
  await page.getByLabel('Password').fill('Dan-Passw0rd!');
  await page.getByRole('button', { name: 'Sign up' }).click();
  assert.equal(await page.getByRole('heading').textContent(), 'Confirm your account');
  const firstCode = await readCode(server.endpoint, email);
  // A new code on request (the code field may be empty for that).
  await page.getByRole('button', { name: 'Send a new code' }).click();
  assert.match(await page.getByRole('status').textContent(), /^We sent a new code to \S+@\S+\.$/);
  const code = await readCode(server.endpoint, email);
  assert.notEqual(code, firstCode);
  await page.getByLabel('Confirmation code').fill(code);
  await page.getByRole('button', { name: 'Confirm' }).click();
  // Confirmed, and signed in at once (as Cognito's managed login does).
  await page.waitForURL(`${appUrl}/cb?**`);
  const signedUp = await exchange(p.domain, p.shop, new URL(page.url()).searchParams.get('code'));
  assert.equal(signedUp.status, 200, JSON.stringify(signedUp.body));

  // Password reset, in a fresh browser.
  const other = await browser.newContext();
  t.after(() => other.close());
  const page2 = await other.newPage();
  await page2.goto(p.authorize(p.shop));
  await page2.getByRole('link', { name: 'Forgot your password?' }).click();
  await page2.getByLabel('Username').fill('dan');
  await page2.getByRole('button', { name: 'Send a code' }).click();
  assert.equal(await page2.getByRole('heading').textContent(), 'Reset your password');
  await page2.getByLabel('Code').fill(await readCode(server.endpoint, email));
  await page2.getByLabel('New password').fill('Dan-N3w-Passw0rd!');
  await page2.getByRole('button', { name: 'Reset password' }).click();
  assert.equal(await page2.getByRole('status').textContent(), 'Your password is changed. Sign in with it.');
  await page2.getByLabel('Password').fill('Dan-N3w-Passw0rd!');
  await page2.getByRole('button', { name: 'Sign in' }).click();
  await page2.waitForURL(`${appUrl}/cb?**`);
});

test('browser: the customized CSS and logo of a client are applied to its pages', async (t) => {
  const p = await pool(t);
  const logo = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6338a161f31f000514022c1d504f040000000049454e44ae426082', 'hex');
  await admin.send(new SetUICustomizationCommand({
    UserPoolId: p.app.poolId,
    ClientId: p.shop.ClientId,
    CSS: '.submitButton-customizable { background-color: rgb(180, 30, 60); } .banner-customizable { color: rgb(20, 90, 40); }',
    ImageFile: logo,
  }));
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(p.authorize(p.shop));
  const button = await page.getByRole('button', { name: 'Sign in' }).evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(button, 'rgb(180, 30, 60)');
  const heading = await page.getByRole('heading').evaluate((el) => getComputedStyle(el).color);
  assert.equal(heading, 'rgb(20, 90, 40)');
  assert.equal(await page.locator('img.logo-customizable').evaluate((img) => img.naturalWidth), 1);
  await shot(page, 'sign-in-customized');
  // The pool's other client keeps the default look.
  await page.goto(p.authorize(p.blog));
  const plain = await page.getByRole('button', { name: 'Sign in' }).evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(plain, 'rgb(9, 114, 211)');
});

test('browser: MFA_SETUP shows the new key as a QR code and as text; its code signs the user in', async (t) => {
  const p = await pool(t);
  await admin.send(new SetUserPoolMfaConfigCommand({
    UserPoolId: p.app.poolId, MfaConfiguration: 'ON', SoftwareTokenMfaConfiguration: { Enabled: true },
  }));
  const page = await freshPage(t);
  await page.goto(p.authorize(p.shop));
  await submitSignIn(page);
  assert.equal(await page.getByRole('heading').textContent(), 'Set up two-step verification');
  // The QR code is drawn (an SVG image with its finder patterns) and the
  // key is there to type in.
  const qr = page.getByRole('img', { name: 'Key' });
  assert.ok((await qr.boundingBox()).width >= 150);
  assert.ok(await qr.locator('path').getAttribute('d'));
  const secret = (await page.locator('#secret').textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{32,}$/);
  await shot(page, 'mfa-setup');
  // A wrong code shows the same key again.
  await page.getByLabel('Authenticator code').fill('000000');
  await page.getByRole('button', { name: 'Continue' }).click();
  assert.match(await page.getByRole('alert').textContent(), /[Cc]ode/);
  assert.equal((await page.locator('#secret').textContent()).trim(), secret);
  const first = await totpCode(secret);
  await page.getByLabel('Authenticator code').fill(first.code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${appUrl}/cb?**`);
  const tokens = await exchange(p.domain, p.shop, new URL(page.url()).searchParams.get('code'));
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));

  // From now on the authenticator is asked for, with the key just set up.
  const page2 = await freshPage(t);
  await page2.goto(p.authorize(p.shop));
  await submitSignIn(page2);
  assert.equal(await page2.getByRole('heading').textContent(), 'Two-step verification');
  const second = await totpCode(secret, first.step);
  await page2.getByLabel('Authenticator code').fill(second.code);
  await page2.getByRole('button', { name: 'Continue' }).click();
  await page2.waitForURL(`${appUrl}/cb?**`);
});

test('browser: the pages speak the language lang names, and remember it in a cookie', async (t) => {
  const p = await pool(t);
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${p.authorize(p.shop)}&lang=de`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'de');
  assert.equal(await page.getByRole('heading').textContent(), 'Bei Shop anmelden');
  await page.getByLabel('Benutzername').fill('bea');
  await page.getByLabel('Passwort').fill('wrong-Passw0rd!');
  await page.getByRole('button', { name: 'Anmelden' }).click();
  assert.equal(await page.getByRole('alert').textContent(), 'Benutzername oder Passwort ist falsch.');
  await shot(page, 'sign-in-de');

  // The language links switch to another; the cookie keeps it for the
  // next sign-in, which names no language.
  await page.getByRole('link', { name: '日本語' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
  const cookies = await context.cookies();
  assert.equal(cookies.find((c) => c.name === 'lang')?.value, 'ja');
  await page.goto(p.authorize(p.blog));
  assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
  assert.equal(await page.getByRole('heading').textContent(), 'Blog にサインイン');
  await page.getByLabel('ユーザー名').fill('bea');
  await page.getByLabel('パスワード').fill(PASSWORD);
  await page.getByRole('button', { name: 'サインイン' }).click();
  await page.waitForURL(`${appUrl}/cb?**`);

  // Without lang or the cookie, the browser's language decides.
  const french = await browser.newContext({ locale: 'fr-FR' });
  t.after(() => french.close());
  const page2 = await french.newPage();
  await page2.goto(p.authorize(p.shop));
  assert.equal(await page2.locator('html').getAttribute('lang'), 'fr');
});

test('browser: a managed-login domain wears the client\'s branding style', async (t) => {
  const p = await pool(t, { managedLoginVersion: 2 });
  // SVG assets: a logo and a page background.
  const logo = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32" viewBox="0 0 120 32">' +
    '<rect width="32" height="32" rx="8" fill="#b41e3c"/><text x="42" y="24" font-family="sans-serif" font-size="22" ' +
    'font-weight="700" fill="#145a28">Shop</text></svg>');
  const background = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900">' +
    '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#fdf6e3"/>' +
    '<stop offset="1" stop-color="#d9a56c"/></linearGradient></defs><rect width="1600" height="900" fill="url(#g)"/></svg>');
  await admin.send(new CreateManagedLoginBrandingCommand({
    UserPoolId: p.app.poolId,
    ClientId: p.shop.ClientId,
    Settings: {
      categories: { global: { colorSchemeMode: 'LIGHT' } },
      components: {
        primaryButton: { lightMode: { defaults: { backgroundColor: 'b41e3cff', textColor: 'ffffffff' } } },
        pageText: { lightMode: { headingColor: '145a28ff' } },
        form: { borderRadius: 16, lightMode: { backgroundColor: 'fdf6e3ff' } },
        pageBackground: { image: { enabled: true } },
      },
      componentClasses: { link: { lightMode: { defaults: { textColor: '6b2d8fff' } } } },
    },
    Assets: [
      { Category: 'FORM_LOGO', ColorMode: 'LIGHT', Extension: 'SVG', Bytes: logo },
      { Category: 'PAGE_BACKGROUND', ColorMode: 'LIGHT', Extension: 'SVG', Bytes: background },
    ],
  }));
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(p.authorize(p.shop));
  const style = (locator, property) => locator.evaluate((el, prop) => getComputedStyle(el)[prop], property);
  assert.equal(await style(page.getByRole('button', { name: 'Sign in' }), 'backgroundColor'), 'rgb(180, 30, 60)');
  assert.equal(await style(page.getByRole('heading'), 'color'), 'rgb(20, 90, 40)');
  assert.equal(await style(page.locator('main.panel'), 'backgroundColor'), 'rgb(253, 246, 227)');
  assert.equal(await style(page.locator('main.panel'), 'borderTopLeftRadius'), '16px');
  assert.equal(await style(page.getByRole('link', { name: 'Forgot your password?' }), 'color'), 'rgb(107, 45, 143)');
  assert.match(await style(page.locator('body'), 'backgroundImage'), /\/ui\/.+\/background"\)$/);
  assert.equal(await page.locator('img.logo-customizable').evaluate((img) => img.naturalWidth), 120);
  // An asset opened by itself is sandboxed (an SVG could carry script).
  const direct = await fetch(await page.locator('img.logo-customizable').evaluate((img) => img.src));
  assert.equal(direct.headers.get('content-security-policy'), "default-src 'none'; sandbox");
  assert.equal(direct.headers.get('content-type'), 'image/svg+xml');
  await shot(page, 'sign-in-branded');
  // The client without a style has the default look; the classic CSS of
  // SetUICustomization does not apply on a managed-login domain.
  await admin.send(new SetUICustomizationCommand({
    UserPoolId: p.app.poolId, ClientId: p.blog.ClientId, CSS: '.submitButton-customizable { background-color: rgb(1, 2, 3); }',
  }));
  await page.goto(p.authorize(p.blog));
  assert.equal(await style(page.getByRole('button', { name: 'Sign in' }), 'backgroundColor'), 'rgb(9, 114, 211)');
});

test('browser: a device shows a code; the person signs in at /device and allows it (the device grant extension)', async (t) => {
  const p = await pool(t);
  const basic = `Basic ${Buffer.from(`${p.shop.ClientId}:${p.shop.ClientSecret}`).toString('base64')}`;
  const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };
  // The device asks for codes.
  const started = await fetch(`${p.domain}/oauth2/device_authorization`, {
    method: 'POST', headers: form, body: new URLSearchParams({ scope: 'openid email' }),
  });
  assert.equal(started.status, 200);
  const d = await started.json();
  assert.match(d.user_code, /^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$/);
  const poll = async () => {
    const r = await fetch(`${p.domain}/oauth2/token`, {
      method: 'POST', headers: form,
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: d.device_code }),
    });
    return { status: r.status, body: await r.json() };
  };
  assert.equal((await poll()).body.error, 'authorization_pending');

  // The person types the code at the verification URI, signs in, and allows.
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(d.verification_uri);
  assert.equal(await page.getByRole('heading').textContent(), 'Sign in a device');
  await page.getByLabel('Device code').fill(d.user_code.replace('-', '').toLowerCase());
  await page.getByRole('button', { name: 'Continue' }).click();
  await submitSignIn(page);
  assert.equal(await page.locator('#user-code').textContent(), d.user_code);
  assert.equal(await page.getByRole('status').textContent(), 'Signed in as bea.');
  await shot(page, 'device');
  await page.getByRole('button', { name: 'Allow' }).click();
  assert.equal(await page.getByRole('status').textContent(), 'Your device is signed in. You can close this page.');

  // The device's next poll gets its tokens, and only once.
  const done = await poll();
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.ok(done.body.id_token && done.body.refresh_token);
  assert.equal((await poll()).body.error, 'invalid_grant');
});

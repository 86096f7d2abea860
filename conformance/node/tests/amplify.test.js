// Amplify JS v6 (the `aws-amplify` package) against Cognate, as a Node app
// uses it: signUp / confirmSignUp with the emailed code, signIn (SRP by
// default, USER_PASSWORD_AUTH on request), fetchAuthSession, getCurrentUser,
// token refresh and signOut. The AWS SDK v3 (no AWS credentials) checks what
// Amplify left behind, e.g. that signOut really revoked the tokens.
//
// How Amplify is pointed at Cognate: `Auth.Cognito.userPoolEndpoint`. Every
// user-pool call in @aws-amplify/auth builds its client with
// createCognitoUserPoolEndpointResolver({ endpointOverride: userPoolEndpoint }),
// which uses that URL as is when set and otherwise
// https://cognito-idp.<region>.amazonaws.com/ with the region taken from the
// pool id (so the pool id must still look like <region>_<id>). The calls are
// unsigned JSON POSTs to that URL with X-Amz-Target, as to Cognito.
// Amplify.configure() logs a warning about the custom endpoint ("[WARN] Auth -
// You are using a custom ... endpoint"); that is expected.
//
// What Node needs for Amplify:
// - Token storage. Amplify.configure() (the aws-amplify wrapper) re-installs
//   the default key-value storage on the token provider on every call: in
//   Node, with no window.localStorage, that is one process-wide in-memory
//   store. So each test installs its own in-memory store *after* configure()
//   with cognitoUserPoolsTokenProvider.setKeyValueStorage(), so tests never
//   see each other's tokens.
// - WebCrypto. @aws-amplify/core's getCrypto() uses window.crypto or the
//   global `crypto`; Node 20 has globalThis.crypto (webcrypto) built in, so
//   nothing is polyfilled here (checked below). SRP's big-integer maths is
//   pure JS inside @aws-amplify/auth; fetch, atob/btoa and TextEncoder are
//   Node 20 globals too.
// - Nothing for the browser-only bits: getUserContextData() (advanced
//   security's fingerprint) returns undefined without a window.
//
// Amplify keeps one global configuration and token provider, so the tests in
// this file run one after another (node:test's default within a file) and
// each signs out (or never signs in) before the next.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { GetUserCommand, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { Amplify } from 'aws-amplify';
import {
  confirmSignUp,
  fetchAuthSession,
  getCurrentUser,
  signIn,
  signOut,
  signUp,
} from 'aws-amplify/auth';
import { cognitoUserPoolsTokenProvider } from 'aws-amplify/auth/cognito';

import {
  PASSWORD,
  WRONG_PASSWORD,
  adminClient,
  createApp,
  publicClient,
  readCode,
  rejection,
  startServer,
} from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TARGET_PREFIX = 'AWSCognitoIdentityProviderService.';

let server;
let admin;
let pub;

// --------------------------------------------------------------------------
// What Amplify sends: a recorder around the global fetch, which is what
// @aws-amplify/core's fetchTransferHandler calls for every Cognito request.
// Only JSON-protocol calls (with X-Amz-Target) are recorded; the outbox
// helper's own fetches are not.
// --------------------------------------------------------------------------

const calls = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  const target = headers.get('x-amz-target');
  const response = await realFetch(input, init);
  if (target) {
    const text = await response.clone().text();
    let requestBody = null;
    try {
      requestBody = JSON.parse(typeof init.body === 'string' ? init.body : '');
    } catch {
      /* not JSON */
    }
    let responseBody = null;
    try {
      responseBody = JSON.parse(text);
    } catch {
      responseBody = text;
    }
    calls.push({
      url: String(input instanceof Request ? input.url : input),
      operation: target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target,
      requestBody,
      status: response.status,
      responseBody,
    });
  }
  return response;
};

/** The recorded calls from index `from` on, for messages. */
function callLog(from = 0) {
  return JSON.stringify(
    calls.slice(from).map(({ operation, requestBody, status, responseBody }) => ({
      operation,
      requestBody,
      status,
      responseBody,
    })),
    null,
    1,
  ).slice(0, 4000);
}

// --------------------------------------------------------------------------
// Setup
// --------------------------------------------------------------------------

/** Amplify's KeyValueStorageInterface, in memory (every method may return a promise). */
class MemoryKeyValueStorage {
  constructor() {
    this.data = new Map();
  }
  async setItem(key, value) {
    this.data.set(key, value);
  }
  async getItem(key) {
    return this.data.has(key) ? this.data.get(key) : null;
  }
  async removeItem(key) {
    this.data.delete(key);
  }
  async clear() {
    this.data.clear();
  }
}

before(async () => {
  // Node 20's built-in WebCrypto is what Amplify will find (see the header).
  assert.equal(typeof globalThis.crypto?.getRandomValues, 'function');
  assert.equal(typeof globalThis.crypto?.subtle?.digest, 'function');
  server = await startServer();
  admin = adminClient(server.endpoint);
  pub = publicClient(server.endpoint);
});

after(async () => {
  globalThis.fetch = realFetch;
  admin?.destroy();
  pub?.destroy();
  await server?.stop();
});

/** A new pool + public client, and Amplify configured for it with a fresh token store. */
async function amplifyApp(t, options) {
  const app = await createApp(admin, server.endpoint, options);
  t.after(app.cleanup);
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: app.poolId,
        userPoolClientId: app.clientId,
        userPoolEndpoint: server.endpoint,
      },
    },
  });
  // After configure(), which has just put the default storage back.
  const storage = new MemoryKeyValueStorage();
  cognitoUserPoolsTokenProvider.setKeyValueStorage(storage);
  // Whatever a test leaves, the next one starts signed out.
  t.after(async () => {
    try {
      await signOut();
    } catch {
      /* already signed out */
    }
  });
  return { ...app, storage };
}

/** Sign up and confirm through Amplify; returns the user's sub. */
async function registered(username, email) {
  const up = await signUp({ username, password: PASSWORD, options: { userAttributes: { email } } });
  const code = await readCode(server.endpoint, email);
  const confirmed = await confirmSignUp({ username, confirmationCode: code });
  assert.equal(confirmed.isSignUpComplete, true);
  return up.userId;
}

function decodePayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

// --------------------------------------------------------------------------
// Tests
// --------------------------------------------------------------------------

test('Amplify v6: signUp, confirmSignUp, SRP signIn, fetchAuthSession, getCurrentUser, signOut revokes, wrong password', async (t) => {
  const app = await amplifyApp(t);

  // signUp: unconfirmed, a code sent by email.
  const up = await signUp({
    username: 'amy',
    password: PASSWORD,
    options: { userAttributes: { email: 'amy@example.com' } },
  });
  assert.equal(up.isSignUpComplete, false);
  assert.match(up.userId, UUID);
  assert.deepEqual(up.nextStep, {
    signUpStep: 'CONFIRM_SIGN_UP',
    codeDeliveryDetails: { deliveryMedium: 'EMAIL', destination: 'a***@e***', attributeName: 'email' },
  });

  const code = await readCode(server.endpoint, 'amy@example.com');
  const confirmed = await confirmSignUp({ username: 'amy', confirmationCode: code });
  assert.deepEqual(confirmed, { isSignUpComplete: true, nextStep: { signUpStep: 'DONE' } });

  // signIn with Amplify's default flow: USER_SRP_AUTH, then the PASSWORD_VERIFIER challenge.
  const start = calls.length;
  const result = await signIn({ username: 'amy', password: PASSWORD });
  assert.deepEqual(result, { isSignedIn: true, nextStep: { signInStep: 'DONE' } }, callLog(start));
  const flow = calls.slice(start);
  assert.deepEqual(
    flow.map((c) => c.operation),
    ['InitiateAuth', 'RespondToAuthChallenge'],
    callLog(start),
  );
  assert.equal(flow[0].requestBody.AuthFlow, 'USER_SRP_AUTH');
  assert.equal(flow[0].requestBody.ClientId, app.clientId);
  assert.equal(flow[0].responseBody.ChallengeName, 'PASSWORD_VERIFIER');
  assert.equal(flow[1].requestBody.ChallengeName, 'PASSWORD_VERIFIER');
  assert.ok(flow.every((c) => c.url === `${server.endpoint}/`), 'every call goes to userPoolEndpoint');

  // fetchAuthSession: the tokens Cognito issued, decoded by Amplify.
  const session = await fetchAuthSession();
  assert.ok(session.tokens?.idToken && session.tokens?.accessToken, 'tokens present');
  const id = session.tokens.idToken.payload;
  const access = session.tokens.accessToken.payload;
  assert.equal(id['cognito:username'], 'amy');
  assert.equal(id.email, 'amy@example.com');
  assert.equal(id.email_verified, true);
  assert.equal(id.aud, app.clientId);
  assert.equal(id.iss, `${server.endpoint}/${app.poolId}`);
  assert.equal(id.token_use, 'id');
  assert.equal(id.sub, up.userId);
  assert.equal(access.iss, `${server.endpoint}/${app.poolId}`);
  assert.equal(access.client_id, app.clientId);
  assert.equal(access.token_use, 'access');
  assert.equal(access.username, 'amy');
  assert.equal(access.sub, up.userId);
  assert.equal(session.userSub, up.userId);
  // Amplify only calls RevokeToken on signOut for tokens carrying origin_jti.
  assert.match(String(access.origin_jti), UUID);
  // No identity pool configured: no AWS credentials, no identity id.
  assert.equal(session.credentials, undefined);
  assert.equal(session.identityId, undefined);
  const accessToken = session.tokens.accessToken.toString();
  assert.equal(decodePayload(accessToken).jti, access.jti);

  // The access token Amplify holds works against the service.
  assert.equal((await pub.send(new GetUserCommand({ AccessToken: accessToken }))).Username, 'amy');

  // getCurrentUser: username from cognito:username, userId = sub.
  const current = await getCurrentUser();
  assert.equal(current.username, 'amy');
  assert.equal(current.userId, up.userId);
  assert.deepEqual(current.signInDetails, { loginId: 'amy', authFlowType: 'USER_SRP_AUTH' });

  // The refresh token Amplify stored, read back before signOut clears it.
  const storedRefresh = [...app.storage.data.entries()].find(([key]) => key.endsWith('.refreshToken'))?.[1];
  assert.ok(storedRefresh, 'Amplify stored a refresh token');

  // signOut: Amplify calls RevokeToken with the refresh token (and swallows any error, so check the exchange).
  const beforeSignOut = calls.length;
  await signOut();
  const revoke = calls.slice(beforeSignOut).filter((c) => c.operation === 'RevokeToken');
  assert.equal(revoke.length, 1, callLog(beforeSignOut));
  assert.deepEqual(revoke[0].requestBody, { ClientId: app.clientId, Token: storedRefresh });
  assert.equal(revoke[0].status, 200, callLog(beforeSignOut));
  assert.deepEqual(revoke[0].responseBody, {});

  // Signed out locally...
  assert.equal((await fetchAuthSession()).tokens, undefined);
  const notSignedIn = await rejection(getCurrentUser());
  assert.equal(notSignedIn.name, 'UserUnAuthenticatedException');

  // ...and at the service: the revoked refresh token and the access tokens issued with it are dead.
  let err = await rejection(pub.send(new GetUserCommand({ AccessToken: accessToken })));
  assert.equal(err.name, 'NotAuthorizedException');
  assert.equal(err.message, 'Access Token has been revoked');
  err = await rejection(
    pub.send(
      new InitiateAuthCommand({
        ClientId: app.clientId,
        AuthFlow: 'REFRESH_TOKEN_AUTH',
        AuthParameters: { REFRESH_TOKEN: storedRefresh },
      }),
    ),
  );
  assert.equal(err.name, 'NotAuthorizedException');
  assert.equal(err.message, 'Refresh Token has been revoked');

  // A wrong password (SRP) is NotAuthorizedException, and leaves Amplify signed out.
  err = await rejection(signIn({ username: 'amy', password: WRONG_PASSWORD }));
  assert.equal(err.name, 'NotAuthorizedException');
  assert.equal(err.message, 'Incorrect username or password.');
  assert.equal((await fetchAuthSession()).tokens, undefined);

  // The right password still works afterwards.
  assert.equal((await signIn({ username: 'amy', password: PASSWORD })).isSignedIn, true);
});

test('Amplify v6: signIn with authFlowType USER_PASSWORD_AUTH, and a client that does not allow it', async (t) => {
  const app = await amplifyApp(t);
  const sub = await registered('ben', 'ben@example.com');

  const start = calls.length;
  const result = await signIn({
    username: 'ben',
    password: PASSWORD,
    options: { authFlowType: 'USER_PASSWORD_AUTH' },
  });
  assert.deepEqual(result, { isSignedIn: true, nextStep: { signInStep: 'DONE' } }, callLog(start));
  const flow = calls.slice(start);
  assert.deepEqual(flow.map((c) => c.operation), ['InitiateAuth'], callLog(start));
  assert.equal(flow[0].requestBody.AuthFlow, 'USER_PASSWORD_AUTH');
  assert.deepEqual(flow[0].requestBody.AuthParameters, { USERNAME: 'ben', PASSWORD });

  const { tokens } = await fetchAuthSession();
  assert.equal(tokens.idToken.payload['cognito:username'], 'ben');
  assert.equal(tokens.idToken.payload.email, 'ben@example.com');
  assert.equal(tokens.idToken.payload.aud, app.clientId);
  assert.equal(tokens.idToken.payload.iss, `${server.endpoint}/${app.poolId}`);
  const current = await getCurrentUser();
  assert.equal(current.username, 'ben');
  assert.equal(current.userId, sub);
  assert.deepEqual(current.signInDetails, { loginId: 'ben', authFlowType: 'USER_PASSWORD_AUTH' });
  await signOut();

  let err = await rejection(
    signIn({ username: 'ben', password: WRONG_PASSWORD, options: { authFlowType: 'USER_PASSWORD_AUTH' } }),
  );
  assert.equal(err.name, 'NotAuthorizedException');
  assert.equal(err.message, 'Incorrect username or password.');

  // A client allowing only SRP (and refresh): USER_PASSWORD_AUTH is refused, SRP works.
  const srpOnly = await amplifyApp(t, {
    client: { ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] },
  });
  await registered('cat', 'cat@example.com');
  err = await rejection(
    signIn({ username: 'cat', password: PASSWORD, options: { authFlowType: 'USER_PASSWORD_AUTH' } }),
  );
  assert.equal(err.name, 'InvalidParameterException');
  assert.equal(err.message, 'USER_PASSWORD_AUTH flow not enabled for this client');
  const srp = await signIn({ username: 'cat', password: PASSWORD });
  assert.equal(srp.isSignedIn, true);
  assert.equal((await fetchAuthSession()).tokens.idToken.payload.aud, srpOnly.clientId);
});

test('Amplify v6: fetchAuthSession({ forceRefresh: true }) refreshes the tokens with the stored refresh token', async (t) => {
  const app = await amplifyApp(t);
  const sub = await registered('dot', 'dot@example.com');
  await signIn({ username: 'dot', password: PASSWORD });
  const first = (await fetchAuthSession()).tokens;

  // Amplify v6 refreshes with GetTokensFromRefreshToken (not InitiateAuth REFRESH_TOKEN_AUTH).
  const start = calls.length;
  let session;
  try {
    session = await fetchAuthSession({ forceRefresh: true });
  } catch (err) {
    assert.fail(`fetchAuthSession({ forceRefresh: true }) threw ${err.name}: ${err.message}; calls: ${callLog(start)}`);
  }
  const refresh = calls.slice(start).filter((c) => c.operation === 'GetTokensFromRefreshToken');
  assert.equal(refresh.length, 1, callLog(start));
  assert.equal(refresh[0].requestBody.ClientId, app.clientId);
  assert.equal(refresh[0].status, 200, callLog(start));
  assert.ok(session.tokens?.accessToken, `refreshed tokens; calls: ${callLog(start)}`);

  const [a0, a1] = [first.accessToken.payload, session.tokens.accessToken.payload];
  const [i0, i1] = [first.idToken.payload, session.tokens.idToken.payload];
  assert.notEqual(a1.jti, a0.jti);
  assert.equal(a1.sub, sub);
  assert.equal(a1.origin_jti, a0.origin_jti);
  assert.equal(a1.auth_time, a0.auth_time);
  assert.equal(i1['cognito:username'], 'dot');
  assert.equal(i1.aud, app.clientId);
  assert.equal(i1.auth_time, i0.auth_time);
  // The refreshed access token works, and the user is still signed in.
  const me = await pub.send(new GetUserCommand({ AccessToken: session.tokens.accessToken.toString() }));
  assert.equal(me.Username, 'dot');
  assert.equal((await getCurrentUser()).userId, sub);
});

// A passwordless sign-in with CUSTOM_AUTH, driven by amazon-cognito-identity-js's
// custom-auth calls (initiateAuth, customChallenge, sendCustomChallengeAnswer).
// The three challenge functions are written here as a Node HTTP service that
// Cognate calls as a webhook with the very event Lambda would receive.

import assert from 'node:assert/strict';
import { createHmac, randomInt } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { AdminCreateUserCommand, AdminSetUserPasswordCommand } from '@aws-sdk/client-cognito-identity-provider';

import {
  AuthenticationDetails,
  NODE_DIR,
  adminClient,
  cognitoUser,
  createApp,
  rejection,
  startServer,
  uniqueName,
  userPool,
} from './helpers.js';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:passwordless';
const SECRET = 'conformance-webhook-secret';

// The "mailbox": codes the CreateAuthChallenge function sent, by username.
const mailbox = new Map();
const received = [];

/** The trigger functions, exactly as one would write them for Lambda. */
function handler(event) {
  const session = event.request.session || [];
  switch (event.triggerSource) {
    case 'DefineAuthChallenge_Authentication': {
      const last = session[session.length - 1];
      // Password first (SRP inside CUSTOM_AUTH), then the one-time code.
      if (session.length === 1 && last.challengeName === 'SRP_A') {
        event.response.challengeName = 'PASSWORD_VERIFIER';
        event.response.issueTokens = false;
        event.response.failAuthentication = false;
      } else if (last && last.challengeName === 'PASSWORD_VERIFIER' && last.challengeResult !== true) {
        event.response.issueTokens = false;
        event.response.failAuthentication = true;
      } else if (last && last.challengeName === 'CUSTOM_CHALLENGE' && last.challengeResult === true) {
        event.response.issueTokens = true;
        event.response.failAuthentication = false;
      } else if (session.length >= 3) {
        event.response.issueTokens = false;
        event.response.failAuthentication = true;
      } else {
        event.response.challengeName = 'CUSTOM_CHALLENGE';
        event.response.issueTokens = false;
        event.response.failAuthentication = false;
      }
      return event;
    }
    case 'CreateAuthChallenge_Authentication': {
      const code = String(randomInt(100000, 1000000));
      mailbox.set(event.userName, code);
      event.response.publicChallengeParameters = { email: event.request.userAttributes.email };
      event.response.privateChallengeParameters = { code };
      event.response.challengeMetadata = `CODE-${session.length}`;
      return event;
    }
    case 'VerifyAuthChallengeResponse_Authentication':
      event.response.answerCorrect = event.request.challengeAnswer === event.request.privateChallengeParameters.code;
      return event;
    default:
      return event;
  }
}

let functionServer;
let server;
let admin;

before(async () => {
  functionServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      // Only Cognate, holding the secret, may call the functions.
      const [t, v1] = (req.headers['x-cognate-signature'] || '').split(',');
      const want = createHmac('sha256', SECRET).update(`${t.slice(2)}.${body}`).digest('hex');
      if (v1 !== `v1=${want}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errorMessage: 'bad signature' }));
        return;
      }
      const event = JSON.parse(body);
      received.push(event);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(handler(event)));
    });
  });
  await new Promise((resolve) => functionServer.listen(0, '127.0.0.1', resolve));
  const { port } = functionServer.address();
  const config = path.join(NODE_DIR, 'logs', `functions-${port}.toml`);
  fs.mkdirSync(path.dirname(config), { recursive: true });
  fs.writeFileSync(
    config,
    `[functions."${ARN}"]\nwebhook = "http://127.0.0.1:${port}/"\nwebhook_secret = "${SECRET}"\n`,
  );
  server = await startServer({ extraArgs: ['--config', config] });
  admin = adminClient(server.endpoint);
});

after(async () => {
  admin?.destroy();
  await server?.stop();
  await new Promise((resolve) => functionServer?.close(resolve));
});

/** initiateAuth with CUSTOM_AUTH; resolves at the first challenge or result. */
function customSignIn(user, username, clientMetadata) {
  user.setAuthenticationFlowType('CUSTOM_AUTH');
  const details = new AuthenticationDetails({ Username: username, ClientMetadata: clientMetadata });
  return new Promise((resolve, reject) => {
    user.initiateAuth(details, {
      onSuccess: (session) => resolve({ session }),
      onFailure: reject,
      customChallenge: (params) => resolve({ challenge: params }),
    });
  });
}

function answer(user, code) {
  return new Promise((resolve, reject) => {
    user.sendCustomChallengeAnswer(code, {
      onSuccess: (session) => resolve({ session }),
      onFailure: reject,
      customChallenge: (params) => resolve({ challenge: params }),
    });
  });
}

async function passwordlessApp(t) {
  const app = await createApp(admin, server.endpoint, {
    pool: { LambdaConfig: { DefineAuthChallenge: ARN, CreateAuthChallenge: ARN, VerifyAuthChallengeResponse: ARN } },
    client: { ExplicitAuthFlows: ['ALLOW_CUSTOM_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] },
  });
  t.after(app.cleanup);
  const username = uniqueName('otp');
  await admin.send(
    new AdminCreateUserCommand({
      UserPoolId: app.poolId,
      Username: username,
      MessageAction: 'SUPPRESS',
      UserAttributes: [{ Name: 'email', Value: `${username}@example.com` }, { Name: 'email_verified', Value: 'true' }],
    }),
  );
  return { app, username };
}

test('CUSTOM_AUTH: a one-time code, a wrong answer asks again, the right one signs in', async (t) => {
  const { app, username } = await passwordlessApp(t);
  const user = cognitoUser(userPool(server.endpoint, app.poolId, app.clientId), username);
  const first = await customSignIn(user, username, { app: 'node' });
  assert.equal(first.challenge.email, `${username}@example.com`);

  const again = await answer(user, '000000');
  assert.ok(again.challenge, 'a wrong code is another challenge');
  const done = await answer(user, mailbox.get(username));
  assert.ok(done.session.isValid());
  assert.equal(done.session.getIdToken().decodePayload()['cognito:username'], username);

  // The functions saw Cognito's events: ClientMetadata, and the session so far.
  const define = received.filter(
    (e) => e.triggerSource === 'DefineAuthChallenge_Authentication' && e.userName === username,
  );
  assert.deepEqual(define[0].request.clientMetadata, { app: 'node' });
  assert.deepEqual(
    define.at(-1).request.session.map((s) => [s.challengeName, s.challengeResult, s.challengeMetadata]),
    [
      ['CUSTOM_CHALLENGE', false, 'CODE-0'],
      ['CUSTOM_CHALLENGE', true, 'CODE-1'],
    ],
  );
});

test('CUSTOM_AUTH: three wrong codes end the sign-in', async (t) => {
  const { app, username } = await passwordlessApp(t);
  const user = cognitoUser(userPool(server.endpoint, app.poolId, app.clientId), username);
  await customSignIn(user, username);
  await answer(user, '111111');
  await answer(user, '222222');
  const err = await rejection(answer(user, '333333'));
  assert.equal(err.code, 'NotAuthorizedException');
});

/** authenticateUser with CUSTOM_AUTH: SRP with the password, then challenges. */
function passwordThenChallenge(user, username, password) {
  user.setAuthenticationFlowType('CUSTOM_AUTH');
  const details = new AuthenticationDetails({ Username: username, Password: password });
  return new Promise((resolve, reject) => {
    user.authenticateUser(details, {
      onSuccess: (session) => resolve({ session }),
      onFailure: reject,
      customChallenge: (params) => resolve({ challenge: params }),
    });
  });
}

test('CUSTOM_AUTH with SRP: the password by SRP, then a one-time code', async (t) => {
  const { app, username } = await passwordlessApp(t);
  await admin.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: app.poolId,
      Username: username,
      Password: 'Passw0rd!srp',
      Permanent: true,
    }),
  );
  const pool = userPool(server.endpoint, app.poolId, app.clientId);
  const first = await passwordThenChallenge(cognitoUser(pool, username), username, 'Passw0rd!srp');
  assert.equal(first.challenge.email, `${username}@example.com`, 'the code comes after the password');
  // The same user object carries the Session on to the answer.
  const user = cognitoUser(pool, username);
  const again = await passwordThenChallenge(user, username, 'Passw0rd!srp');
  assert.ok(again.challenge);
  const done = await answer(user, mailbox.get(username));
  assert.ok(done.session.isValid());
  const define = received.filter(
    (e) => e.triggerSource === 'DefineAuthChallenge_Authentication' && e.userName === username,
  );
  assert.deepEqual(
    define.at(-1).request.session.map((s) => [s.challengeName, s.challengeResult]),
    [
      ['SRP_A', true],
      ['PASSWORD_VERIFIER', true],
      ['CUSTOM_CHALLENGE', true],
    ],
  );

  // A wrong password fails at PASSWORD_VERIFIER: no code is sent.
  mailbox.delete(username);
  const err = await rejection(passwordThenChallenge(cognitoUser(pool, username), username, 'Wrong-passw0rd'));
  assert.equal(err.code, 'NotAuthorizedException');
  assert.equal(mailbox.get(username), undefined);
});

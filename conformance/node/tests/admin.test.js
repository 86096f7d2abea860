// What an operator's actions look like from a JavaScript app: an admin (the
// AWS SDK v3, signed) forces a password reset and the user of
// amazon-cognito-identity-js completes it with the emailed code; an admin puts
// a user in groups and the app's tokens carry them, checked by aws-jwt-verify
// (including its Cognito group check) against the served JWKS.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  AdminAddUserToGroupCommand,
  AdminGetUserCommand,
  AdminResetUserPasswordCommand,
  CreateGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { JwtVerifier } from 'aws-jwt-verify';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import { CognitoJwtInvalidGroupError } from 'aws-jwt-verify/error';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';

import {
  OTHER_PASSWORD,
  PASSWORD,
  adminClient,
  cognitoUser,
  createApp,
  jsAuthenticate,
  jsConfirm,
  jsRefresh,
  jsSignUp,
  outboxMessages,
  readCode,
  rejection,
  startServer,
  userPool,
  wrongCode,
} from './helpers.js';

const ROLE_ADMIN = 'arn:aws:iam::123456789012:role/cognate-admins';
const ROLE_EDITOR = 'arn:aws:iam::123456789012:role/cognate-editors';

let server;
let admin;

before(async () => {
  server = await startServer();
  admin = adminClient(server.endpoint);
});

after(async () => {
  admin?.destroy();
  await server?.stop();
});

async function newApp(t, options) {
  const app = await createApp(admin, server.endpoint, options);
  t.after(app.cleanup);
  return app;
}

/** Sign up and confirm `username` through amazon-cognito-identity-js; returns { pool, sub }. */
async function registered(app, username, email) {
  const pool = userPool(server.endpoint, app.poolId, app.clientId);
  const result = await jsSignUp(pool, username, PASSWORD, { email });
  await jsConfirm(cognitoUser(pool, username), await readCode(server.endpoint, email));
  return { pool, sub: result.userSub };
}

/** The callback-object style of forgotPassword / confirmPassword. */
const promisedHandlers = (fn) =>
  new Promise((resolve, reject) =>
    fn({ onSuccess: resolve, onFailure: reject, inputVerificationCode: (data) => resolve(data) }),
  );

const userStatus = async (app, Username) =>
  (await admin.send(new AdminGetUserCommand({ UserPoolId: app.poolId, Username }))).UserStatus;

/**
 * aws-jwt-verify over plain HTTP (its own fetcher speaks HTTPS only), with
 * Cognito's own claim checks: CognitoJwtVerifier only knows AWS issuer URLs,
 * so the generic verifier runs the same validateCognitoJwtFields it uses
 * (token_use, client id, and optionally "at least one of these groups").
 */
function cognitoVerifier(app, { tokenUse, groups }) {
  const jwksCache = new SimpleJwksCache({
    fetcher: {
      fetch: async (uri) => {
        const response = await fetch(uri);
        assert.equal(response.status, 200, `GET ${uri}`);
        return response.arrayBuffer();
      },
    },
  });
  return JwtVerifier.create(
    {
      issuer: app.issuer,
      jwksUri: app.jwksUri,
      audience: null, // validateCognitoJwtFields checks aud (ID token) or client_id (access token)
      customJwtCheck: ({ payload }) =>
        validateCognitoJwtFields(payload, { tokenUse, clientId: app.clientId, groups: groups ?? null }),
    },
    { jwksCache },
  );
}

test('AdminResetUserPassword: sign-in is PasswordResetRequiredException until confirmPassword with the emailed code; then SRP works', async (t) => {
  const app = await newApp(t);
  const { pool } = await registered(app, 'ros', 'ros@example.com');
  assert.ok((await jsAuthenticate(cognitoUser(pool, 'ros'), PASSWORD)).isValid());
  const sentBefore = (await outboxMessages(server.endpoint, 'ros@example.com', 100)).length;

  const out = await admin.send(new AdminResetUserPasswordCommand({ UserPoolId: app.poolId, Username: 'ros' }));
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.equal(await userStatus(app, 'ros'), 'RESET_REQUIRED');

  // The reset sent a code to the verified email.
  const sent = await outboxMessages(server.endpoint, 'ros@example.com', 100);
  assert.equal(sent.length, sentBefore + 1);
  const code = await readCode(server.endpoint, 'ros@example.com');

  // SRP (the library's default flow) and USER_PASSWORD_AUTH both refuse the old password this way.
  let err = await rejection(jsAuthenticate(cognitoUser(pool, 'ros'), PASSWORD));
  assert.equal(err.code, 'PasswordResetRequiredException', `${err.code}: ${err.message}`);
  const passwordUser = cognitoUser(pool, 'ros');
  passwordUser.setAuthenticationFlowType('USER_PASSWORD_AUTH');
  err = await rejection(jsAuthenticate(passwordUser, PASSWORD));
  assert.equal(err.code, 'PasswordResetRequiredException', `${err.code}: ${err.message}`);

  // The user completes the reset with the code.
  const user = cognitoUser(pool, 'ros');
  err = await rejection(promisedHandlers((h) => user.confirmPassword(wrongCode(code), OTHER_PASSWORD, h)));
  assert.equal(err.code, 'CodeMismatchException');
  assert.equal(await promisedHandlers((h) => user.confirmPassword(code, OTHER_PASSWORD, h)), 'SUCCESS');
  assert.equal(await userStatus(app, 'ros'), 'CONFIRMED');

  const session = await jsAuthenticate(cognitoUser(pool, 'ros'), OTHER_PASSWORD);
  assert.ok(session.isValid());
  assert.equal(session.getAccessToken().decodePayload().username, 'ros');
  err = await rejection(jsAuthenticate(cognitoUser(pool, 'ros'), PASSWORD));
  assert.equal(err.code, 'NotAuthorizedException');
});

test('groups: the ID and access tokens carry cognito:groups in precedence order, verified by aws-jwt-verify', async (t) => {
  const app = await newApp(t);
  const { pool } = await registered(app, 'gus', 'gus@example.com');
  await registered(app, 'solo', 'solo@example.com');

  // Names sort against precedence; the group without precedence comes last.
  const groups = [
    { GroupName: 'alpha-editors', Precedence: 5, RoleArn: ROLE_EDITOR },
    { GroupName: 'beta-readers' },
    { GroupName: 'zeta-admins', Precedence: 1, RoleArn: ROLE_ADMIN },
    { GroupName: 'unused', Precedence: 0, RoleArn: 'arn:aws:iam::123456789012:role/unused' },
  ];
  for (const g of groups) await admin.send(new CreateGroupCommand({ UserPoolId: app.poolId, ...g }));
  for (const GroupName of ['beta-readers', 'zeta-admins', 'alpha-editors']) {
    await admin.send(new AdminAddUserToGroupCommand({ UserPoolId: app.poolId, Username: 'gus', GroupName }));
  }
  const expected = ['zeta-admins', 'alpha-editors', 'beta-readers'];

  const user = cognitoUser(pool, 'gus');
  const session = await jsAuthenticate(user, PASSWORD);
  const idToken = session.getIdToken().getJwtToken();
  const accessToken = session.getAccessToken().getJwtToken();

  const id = await cognitoVerifier(app, { tokenUse: 'id', groups: ['beta-readers'] }).verify(idToken);
  assert.deepEqual(id['cognito:groups'], expected);
  assert.deepEqual([...id['cognito:roles']].sort(), [ROLE_ADMIN, ROLE_EDITOR].sort());
  assert.equal(id['cognito:preferred_role'], ROLE_ADMIN);
  assert.equal(id['cognito:username'], 'gus');
  assert.deepEqual(session.getIdToken().decodePayload()['cognito:groups'], expected);

  const access = await cognitoVerifier(app, { tokenUse: 'access', groups: ['zeta-admins'] }).verify(accessToken);
  assert.deepEqual(access['cognito:groups'], expected);
  assert.equal(access.username, 'gus');
  assert.deepEqual(session.getAccessToken().decodePayload()['cognito:groups'], expected);

  // aws-jwt-verify's group check refuses a group the user is not in.
  let err = await rejection(cognitoVerifier(app, { tokenUse: 'id', groups: ['unused'] }).verify(idToken));
  assert.ok(err instanceof CognitoJwtInvalidGroupError, `${err.name}: ${err.message}`);
  err = await rejection(cognitoVerifier(app, { tokenUse: 'access', groups: ['nobody'] }).verify(accessToken));
  assert.ok(err instanceof CognitoJwtInvalidGroupError, `${err.name}: ${err.message}`);

  // Refreshed tokens carry the same groups.
  const refreshed = await jsRefresh(user, session.getRefreshToken());
  const refreshedId = await cognitoVerifier(app, { tokenUse: 'id' }).verify(refreshed.getIdToken().getJwtToken());
  assert.deepEqual(refreshedId['cognito:groups'], expected);
  const refreshedAccess = await cognitoVerifier(app, { tokenUse: 'access' }).verify(refreshed.getAccessToken().getJwtToken());
  assert.deepEqual(refreshedAccess['cognito:groups'], expected);

  // A user in no group: no group claims, and any group requirement fails.
  const solo = await jsAuthenticate(cognitoUser(pool, 'solo'), PASSWORD);
  const soloId = await cognitoVerifier(app, { tokenUse: 'id' }).verify(solo.getIdToken().getJwtToken());
  assert.equal(soloId['cognito:groups'], undefined);
  assert.equal(soloId['cognito:roles'], undefined);
  assert.equal(soloId['cognito:preferred_role'], undefined);
  const soloAccess = await cognitoVerifier(app, { tokenUse: 'access' }).verify(solo.getAccessToken().getJwtToken());
  assert.equal(soloAccess['cognito:groups'], undefined);
  err = await rejection(
    cognitoVerifier(app, { tokenUse: 'id', groups: ['beta-readers'] }).verify(solo.getIdToken().getJwtToken()),
  );
  assert.ok(err instanceof CognitoJwtInvalidGroupError, `${err.name}: ${err.message}`);
});

// Account self-service as a JavaScript app does it, after sign-in:
// changing and resetting the password, updating, verifying and deleting
// attributes, signing out everywhere, revoking a refresh token, and deleting
// the account. amazon-cognito-identity-js where it has the call, the AWS SDK
// v3 (no AWS credentials) for the rest and for checking what a token can
// still do afterwards.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  ChangePasswordCommand,
  ForgotPasswordCommand,
  GetUserCommand,
  InitiateAuthCommand,
  RevokeTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';

import {
  OTHER_PASSWORD,
  PASSWORD,
  WRONG_PASSWORD,
  adminClient,
  attributeMap,
  cognitoUser,
  createApp,
  jsAuthenticate,
  jsConfirm,
  jsGetUserAttributes,
  jsSignUp,
  publicClient,
  readCode,
  rejection,
  startServer,
  userPool,
  wrongCode,
} from './helpers.js';

let server;
let admin;
let pub;

before(async () => {
  server = await startServer();
  admin = adminClient(server.endpoint);
  pub = publicClient(server.endpoint);
});

after(async () => {
  admin?.destroy();
  pub?.destroy();
  await server?.stop();
});

/** A fresh pool and client, and `username` signed up, confirmed and signed in (SRP). */
async function signedIn(t, username, email = `${username}@example.com`, options = undefined) {
  const app = await createApp(admin, server.endpoint, options);
  t.after(app.cleanup);
  const pool = userPool(server.endpoint, app.poolId, app.clientId);
  const { userSub } = await jsSignUp(pool, username, PASSWORD, { email });
  await jsConfirm(cognitoUser(pool, username), await readCode(server.endpoint, email));
  const user = cognitoUser(pool, username);
  const session = await jsAuthenticate(user, PASSWORD);
  return { app, pool, user, session, sub: userSub };
}

const promised = (fn) => new Promise((resolve, reject) => fn((err, result) => (err ? reject(err) : resolve(result))));

/** The callback-object style of forgotPassword, getAttributeVerificationCode, globalSignOut, ... */
const promisedHandlers = (fn) =>
  new Promise((resolve, reject) =>
    fn({ onSuccess: resolve, onFailure: reject, inputVerificationCode: (data) => resolve(data) }),
  );

function assertAwsError(err, name, message) {
  assert.equal(err.name, name, `${err.name}: ${err.message}`);
  assert.equal(err.$metadata?.httpStatusCode, 400);
  if (message !== undefined) assert.equal(err.message, message);
}

const passwordAuth = (app, USERNAME, password) =>
  pub.send(
    new InitiateAuthCommand({
      ClientId: app.clientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME, PASSWORD: password },
    }),
  );

const refreshAuth = (app, refreshToken) =>
  pub.send(
    new InitiateAuthCommand({
      ClientId: app.clientId,
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: refreshToken },
    }),
  );

const getUser = (accessToken) => pub.send(new GetUserCommand({ AccessToken: accessToken }));

test('changePassword: wrong previous password and weak new ones are refused; then only the new password signs in', async (t) => {
  const { app, pool, user, session } = await signedIn(t, 'ann');

  let err = await rejection(promised((cb) => user.changePassword(WRONG_PASSWORD, OTHER_PASSWORD, cb)));
  assert.equal(err.code, 'NotAuthorizedException');
  assert.equal(err.message, 'Incorrect username or password.');
  err = await rejection(promised((cb) => user.changePassword(PASSWORD, 'weak', cb)));
  assert.equal(err.code, 'InvalidPasswordException');

  assert.equal(await promised((cb) => user.changePassword(PASSWORD, OTHER_PASSWORD, cb)), 'SUCCESS');

  err = await rejection(jsAuthenticate(cognitoUser(pool, 'ann'), PASSWORD));
  assert.equal(err.code, 'NotAuthorizedException');
  assert.ok((await jsAuthenticate(cognitoUser(pool, 'ann'), OTHER_PASSWORD)).isValid());
  assert.ok((await passwordAuth(app, 'ann', OTHER_PASSWORD)).AuthenticationResult.AccessToken);

  // Changing the password does not end existing sessions.
  assert.equal((await getUser(session.getAccessToken().getJwtToken())).Username, 'ann');

  err = await rejection(
    pub.send(new ChangePasswordCommand({ AccessToken: 'not.a.token', PreviousPassword: OTHER_PASSWORD, ProposedPassword: PASSWORD })),
  );
  assertAwsError(err, 'NotAuthorizedException');
});

test('forgotPassword and confirmPassword with the emailed code reset the password', async (t) => {
  const { app, pool } = await signedIn(t, 'hal');
  const user = cognitoUser(pool, 'hal');

  const data = await promisedHandlers((h) => user.forgotPassword(h));
  assert.deepEqual(data.CodeDeliveryDetails, {
    AttributeName: 'email',
    DeliveryMedium: 'EMAIL',
    Destination: 'h***@e***',
  });
  const code = await readCode(server.endpoint, 'hal@example.com');

  let err = await rejection(promisedHandlers((h) => user.confirmPassword(wrongCode(code), OTHER_PASSWORD, h)));
  assert.equal(err.code, 'CodeMismatchException');
  assert.equal(err.message, 'Invalid verification code provided, please try again.');

  assert.equal(await promisedHandlers((h) => user.confirmPassword(code, OTHER_PASSWORD, h)), 'SUCCESS');

  err = await rejection(passwordAuth(app, 'hal', PASSWORD));
  assertAwsError(err, 'NotAuthorizedException', 'Incorrect username or password.');
  assert.ok((await jsAuthenticate(cognitoUser(pool, 'hal'), OTHER_PASSWORD)).isValid());

  // Unknown users, with user-existence errors not prevented (the API default for a client).
  err = await rejection(pub.send(new ForgotPasswordCommand({ ClientId: app.clientId, Username: 'nobody' })));
  assertAwsError(err, 'UserNotFoundException');
});

test('updateAttributes, getAttributeVerificationCode and verifyAttribute: a changed email is unverified until its code is given', async (t) => {
  const { app, user, session } = await signedIn(t, 'ian');

  // An attribute that needs no verification.
  assert.equal(await promised((cb) => user.updateAttributes([{ Name: 'given_name', Value: 'Ian' }], cb)), 'SUCCESS');
  assert.equal(attributeMap(await jsGetUserAttributes(user)).given_name, 'Ian');

  // A new email: stored at once (no AttributesRequireVerificationBeforeUpdate), unverified, a code sent to it.
  const result = await new Promise((resolve, reject) =>
    user.updateAttributes([{ Name: 'email', Value: 'ian.new@example.com' }], (err, status, data) =>
      err ? reject(err) : resolve({ status, data }),
    ),
  );
  assert.equal(result.status, 'SUCCESS');
  assert.deepEqual(result.data.CodeDeliveryDetailsList, [
    { AttributeName: 'email', DeliveryMedium: 'EMAIL', Destination: 'i***@e***' },
  ]);
  let attrs = attributeMap(await jsGetUserAttributes(user));
  assert.equal(attrs.email, 'ian.new@example.com');
  assert.equal(attrs.email_verified, 'false');
  const first = await readCode(server.endpoint, 'ian.new@example.com');

  let err = await rejection(promisedHandlers((h) => user.verifyAttribute('email', wrongCode(first), h)));
  assert.equal(err.code, 'CodeMismatchException');

  // Ask for a code again, and verify with it.
  const sent = await promisedHandlers((h) => user.getAttributeVerificationCode('email', h));
  assert.deepEqual(sent.CodeDeliveryDetails, { AttributeName: 'email', DeliveryMedium: 'EMAIL', Destination: 'i***@e***' });
  const code = await readCode(server.endpoint, 'ian.new@example.com');
  assert.equal(await promisedHandlers((h) => user.verifyAttribute('email', code, h)), 'SUCCESS');
  attrs = attributeMap(await jsGetUserAttributes(user));
  assert.equal(attrs.email_verified, 'true');

  // Fresh ID tokens carry the new attributes.
  const refreshed = await refreshAuth(app, session.getRefreshToken().getToken());
  const claims = JSON.parse(Buffer.from(refreshed.AuthenticationResult.IdToken.split('.')[1], 'base64url'));
  assert.equal(claims.email, 'ian.new@example.com');
  assert.equal(claims.email_verified, true);
  assert.equal(claims.given_name, 'Ian');

  // Attributes outside the schema are refused.
  err = await rejection(promised((cb) => user.updateAttributes([{ Name: 'no_such_attribute', Value: 'x' }], cb)));
  assert.equal(err.code, 'InvalidParameterException');
});

test('with AttributesRequireVerificationBeforeUpdate, a new email only replaces the old one once verified', async (t) => {
  const { user } = await signedIn(t, 'ivy', 'ivy@example.com', {
    pool: { UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ['email'] } },
  });

  await promised((cb) => user.updateAttributes([{ Name: 'email', Value: 'ivy.new@example.com' }], cb));
  let attrs = attributeMap(await jsGetUserAttributes(user));
  assert.equal(attrs.email, 'ivy@example.com', 'the old, verified email stays until the new one is verified');
  assert.equal(attrs.email_verified, 'true');

  const code = await readCode(server.endpoint, 'ivy.new@example.com');
  assert.equal(await promisedHandlers((h) => user.verifyAttribute('email', code, h)), 'SUCCESS');
  attrs = attributeMap(await jsGetUserAttributes(user));
  assert.equal(attrs.email, 'ivy.new@example.com');
  assert.equal(attrs.email_verified, 'true');
});

test('deleteAttributes removes an attribute', async (t) => {
  const { user } = await signedIn(t, 'jo');
  await promised((cb) => user.updateAttributes([{ Name: 'given_name', Value: 'Jo' }, { Name: 'family_name', Value: 'March' }], cb));
  assert.equal(await promised((cb) => user.deleteAttributes(['given_name'], cb)), 'SUCCESS');
  const attrs = attributeMap(await jsGetUserAttributes(user));
  assert.equal(attrs.given_name, undefined);
  assert.equal(attrs.family_name, 'March');
  assert.equal(attrs.email, 'jo@example.com');
});

test('globalSignOut revokes every access and refresh token of the user; signing in again works', async (t) => {
  const { app, pool, user, session } = await signedIn(t, 'kim');
  const other = await jsAuthenticate(cognitoUser(pool, 'kim'), PASSWORD); // a second device

  assert.equal(await promisedHandlers((h) => user.globalSignOut(h)), 'SUCCESS');

  for (const s of [session, other]) {
    let err = await rejection(getUser(s.getAccessToken().getJwtToken()));
    assertAwsError(err, 'NotAuthorizedException', 'Access Token has been revoked');
    err = await rejection(refreshAuth(app, s.getRefreshToken().getToken()));
    assertAwsError(err, 'NotAuthorizedException', 'Refresh Token has been revoked');
  }

  const again = await jsAuthenticate(cognitoUser(pool, 'kim'), PASSWORD);
  assert.equal((await getUser(again.getAccessToken().getJwtToken())).Username, 'kim');
});

test('RevokeToken ends one session (its refresh token and the access tokens from it), not the others', async (t) => {
  const { app, pool, session } = await signedIn(t, 'lou');
  const other = await jsAuthenticate(cognitoUser(pool, 'lou'), PASSWORD);

  const out = await pub.send(new RevokeTokenCommand({ ClientId: app.clientId, Token: session.getRefreshToken().getToken() }));
  assert.equal(out.$metadata.httpStatusCode, 200);

  let err = await rejection(refreshAuth(app, session.getRefreshToken().getToken()));
  assertAwsError(err, 'NotAuthorizedException');
  err = await rejection(getUser(session.getAccessToken().getJwtToken()));
  assertAwsError(err, 'NotAuthorizedException');

  assert.equal((await getUser(other.getAccessToken().getJwtToken())).Username, 'lou');
  assert.ok((await refreshAuth(app, other.getRefreshToken().getToken())).AuthenticationResult.AccessToken);

  // amazon-cognito-identity-js signOut(callback) revokes the refresh token itself (the access token has origin_jti).
  const user = cognitoUser(pool, 'lou');
  const third = await jsAuthenticate(user, PASSWORD);
  await promised((cb) => user.signOut((e) => cb(e, 'done')));
  err = await rejection(refreshAuth(app, third.getRefreshToken().getToken()));
  assertAwsError(err, 'NotAuthorizedException');
});

test('deleteUser deletes the account: it can no longer sign in and the name is free again', async (t) => {
  const { app, pool, user, session, sub } = await signedIn(t, 'max');
  assert.equal(await promised((cb) => user.deleteUser(cb)), 'SUCCESS');

  let err = await rejection(passwordAuth(app, 'max', PASSWORD));
  assertAwsError(err, 'UserNotFoundException', 'User does not exist.');
  err = await rejection(getUser(session.getAccessToken().getJwtToken()));
  // The token's signature is still good but its user is gone.
  assert.ok(['NotAuthorizedException', 'UserNotFoundException'].includes(err.name), `${err.name}: ${err.message}`);

  const again = await jsSignUp(pool, 'max', PASSWORD, { email: 'max@example.com' });
  assert.notEqual(again.userSub, sub);
});

test('PreventUserExistenceErrors: SRP sign-in, lockout and forgotPassword read the same for a real user and an unknown name', async (t) => {
  const app = await createApp(admin, server.endpoint, { client: { PreventUserExistenceErrors: 'ENABLED' } });
  t.after(app.cleanup);
  const pool = userPool(server.endpoint, app.poolId, app.clientId);
  await jsSignUp(pool, 'ida', PASSWORD, { email: 'ida@example.com' });
  await jsConfirm(cognitoUser(pool, 'ida'), await readCode(server.endpoint, 'ida@example.com'));

  // amazon-cognito-identity-js's SRP: the same error for both, attempt after attempt.
  const seen = [];
  for (let i = 0; i < 7; i++) {
    const real = await rejection(jsAuthenticate(cognitoUser(pool, 'ida'), WRONG_PASSWORD));
    const unknown = await rejection(jsAuthenticate(cognitoUser(pool, 'idaho'), WRONG_PASSWORD));
    assert.deepEqual([unknown.code, unknown.message], [real.code, real.message]);
    seen.push(real.message);
  }
  assert.ok(seen.includes('Password attempts exceeded'), seen.join(' | '));

  // forgotPassword: a simulated delivery for the unknown name, in the same medium.
  const real = await pub.send(new ForgotPasswordCommand({ ClientId: app.clientId, Username: 'ida' }));
  const unknown = await pub.send(new ForgotPasswordCommand({ ClientId: app.clientId, Username: 'idaho' }));
  assert.equal(real.CodeDeliveryDetails.Destination, 'i***@e***');
  assert.match(unknown.CodeDeliveryDetails.Destination, /^i\*\*\*@.\*\*\*$/);
  assert.equal(unknown.CodeDeliveryDetails.DeliveryMedium, real.CodeDeliveryDetails.DeliveryMedium);
  const again = await promisedHandlers((h) => cognitoUser(pool, 'idaho').forgotPassword(h));
  assert.equal(again.CodeDeliveryDetails.Destination, unknown.CodeDeliveryDetails.Destination);
});

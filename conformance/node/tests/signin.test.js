// Sign-up and sign-in as a JavaScript app does it: amazon-cognito-identity-js
// for sign-up, confirmation, SRP and password sign-in, refresh and
// attributes; aws-jwt-verify and jose verifying our tokens from the served
// JWKS; the AWS SDK v3 (no AWS credentials, as an app has) for the errors
// real Cognito gives.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  ConfirmSignUpCommand,
  GetUserCommand,
  InitiateAuthCommand,
  ResendConfirmationCodeCommand,
  SignUpCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { JwtVerifier } from 'aws-jwt-verify';
import { KidNotFoundInJwksError } from 'aws-jwt-verify/error';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

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
  jsRefresh,
  jsSignUp,
  publicClient,
  readCode,
  rejection,
  startServer,
  userPool,
  wrongCode,
} from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ONE_HOUR = 3600;

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

async function newApp(t, options) {
  const app = await createApp(admin, server.endpoint, options);
  t.after(app.cleanup);
  return app;
}

/** Sign up and confirm `username` through amazon-cognito-identity-js; returns { pool, sub }. */
async function registered(app, username, email, password = PASSWORD) {
  const pool = userPool(server.endpoint, app.poolId, app.clientId);
  const result = await jsSignUp(pool, username, password, { email });
  await jsConfirm(cognitoUser(pool, username), await readCode(server.endpoint, email));
  return { pool, sub: result.userSub };
}

/** aws-jwt-verify, fed over plain HTTP: its own fetcher speaks HTTPS only, so give its cache a fetch-based one. */
function awsJwtVerifier(app, { tokenUse }) {
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
      // ID tokens carry the client id in `aud`; access tokens have no `aud` but `client_id`.
      audience: tokenUse === 'id' ? app.clientId : null,
      customJwtCheck: ({ payload }) => {
        if (payload.token_use !== tokenUse) throw new Error(`token_use is ${payload.token_use}, not ${tokenUse}`);
        if (tokenUse === 'access' && payload.client_id !== app.clientId) throw new Error('wrong client_id');
      },
    },
    { jwksCache },
  );
}

function assertAwsError(err, name, message) {
  assert.equal(err.name, name, `${err.name}: ${err.message}`);
  assert.equal(err.$fault, 'client');
  assert.equal(err.$metadata?.httpStatusCode, 400);
  if (message !== undefined) assert.equal(err.message, message);
}

// --------------------------------------------------------------------------
// amazon-cognito-identity-js
// --------------------------------------------------------------------------

test('amazon-cognito-identity-js: signUp, confirmRegistration with the emailed code, SRP sign-in and getUserAttributes', async (t) => {
  const app = await newApp(t);
  const pool = userPool(server.endpoint, app.poolId, app.clientId);

  const signUp = await jsSignUp(pool, 'ada', PASSWORD, { email: 'ada@example.com' });
  assert.equal(signUp.userConfirmed, false);
  assert.match(signUp.userSub, UUID);
  assert.equal(signUp.user.getUsername(), 'ada');
  assert.deepEqual(signUp.codeDeliveryDetails, {
    AttributeName: 'email',
    DeliveryMedium: 'EMAIL',
    Destination: 'a***@e***',
  });

  const user = cognitoUser(pool, 'ada');
  assert.equal(await jsConfirm(user, await readCode(server.endpoint, 'ada@example.com')), 'SUCCESS');

  // Default flow: USER_SRP_AUTH, then PASSWORD_VERIFIER through RespondToAuthChallenge.
  const session = await jsAuthenticate(user, PASSWORD);
  assert.ok(session.isValid());
  const id = session.getIdToken().decodePayload();
  const access = session.getAccessToken().decodePayload();
  assert.ok(session.getRefreshToken().getToken().length > 0);

  assert.equal(id.token_use, 'id');
  assert.equal(id.sub, signUp.userSub);
  assert.equal(id['cognito:username'], 'ada');
  assert.equal(id.aud, app.clientId);
  assert.equal(id.iss, app.issuer);
  assert.equal(id.email, 'ada@example.com');
  assert.equal(id.email_verified, true);
  assert.equal(id.exp - id.iat, ONE_HOUR);

  assert.equal(access.token_use, 'access');
  assert.equal(access.sub, signUp.userSub);
  assert.equal(access.username, 'ada');
  assert.equal(access.client_id, app.clientId);
  assert.equal(access.iss, app.issuer);
  assert.equal(access.scope, 'aws.cognito.signin.user.admin');
  assert.equal(access.aud, undefined, 'Cognito access tokens have no aud');
  assert.equal(access.exp - access.iat, ONE_HOUR);

  // One authentication event: shared event_id, origin_jti and auth_time; distinct jti.
  assert.equal(id.event_id, access.event_id);
  assert.ok(access.origin_jti, 'access token carries origin_jti (token revocation is on by default)');
  assert.equal(id.origin_jti, access.origin_jti);
  assert.equal(id.auth_time, access.auth_time);
  assert.notEqual(id.jti, access.jti);

  const attrs = attributeMap(await jsGetUserAttributes(user));
  assert.deepEqual(attrs, { sub: signUp.userSub, email: 'ada@example.com', email_verified: 'true' });

  // The library remembers the signed-in user for the pool.
  assert.equal(pool.getCurrentUser()?.getUsername(), 'ada');
});

test('amazon-cognito-identity-js: USER_PASSWORD_AUTH sign-in, and a wrong password is NotAuthorizedException in both flows', async (t) => {
  const app = await newApp(t);
  const { pool, sub } = await registered(app, 'bob', 'bob@example.com');

  const user = cognitoUser(pool, 'bob');
  user.setAuthenticationFlowType('USER_PASSWORD_AUTH');
  const session = await jsAuthenticate(user, PASSWORD);
  assert.equal(session.getIdToken().decodePayload().sub, sub);
  assert.equal(session.getAccessToken().decodePayload().username, 'bob');

  const wrongPassword = cognitoUser(pool, 'bob');
  wrongPassword.setAuthenticationFlowType('USER_PASSWORD_AUTH');
  let err = await rejection(jsAuthenticate(wrongPassword, WRONG_PASSWORD));
  assert.equal(err.code, 'NotAuthorizedException');
  assert.equal(err.message, 'Incorrect username or password.');

  err = await rejection(jsAuthenticate(cognitoUser(pool, 'bob'), WRONG_PASSWORD)); // SRP
  assert.equal(err.code, 'NotAuthorizedException');
  assert.equal(err.message, 'Incorrect username or password.');

  // Unknown users: legacy user-existence errors are the API default for a new app client.
  err = await rejection(jsAuthenticate(cognitoUser(pool, 'nobody'), PASSWORD));
  assert.equal(err.code, 'UserNotFoundException');
  assert.equal(err.message, 'User does not exist.');

  // Still signs in with the right password after the failures.
  assert.ok((await jsAuthenticate(cognitoUser(pool, 'bob'), PASSWORD)).isValid());
});

test('amazon-cognito-identity-js: refreshSession gives new ID and access tokens for the same authentication', async (t) => {
  const app = await newApp(t);
  const { pool } = await registered(app, 'cy', 'cy@example.com');
  const user = cognitoUser(pool, 'cy');
  const first = await jsAuthenticate(user, PASSWORD);

  // The library sends AuthParameters {REFRESH_TOKEN, DEVICE_KEY: null} (no remembered device in its
  // storage), as every browser app using it does; Cognito treats the null as absent.
  const refreshed = await jsRefresh(user, first.getRefreshToken());
  assert.ok(refreshed.isValid());
  const [a0, a1] = [first.getAccessToken().decodePayload(), refreshed.getAccessToken().decodePayload()];
  const [i0, i1] = [first.getIdToken().decodePayload(), refreshed.getIdToken().decodePayload()];
  assert.notEqual(refreshed.getAccessToken().getJwtToken(), first.getAccessToken().getJwtToken());
  assert.notEqual(refreshed.getIdToken().getJwtToken(), first.getIdToken().getJwtToken());
  assert.notEqual(a1.jti, a0.jti);
  assert.equal(a1.sub, a0.sub);
  assert.equal(a1.username, 'cy');
  assert.equal(i1['cognito:username'], 'cy');
  assert.equal(i1.aud, app.clientId);
  // A refresh is not a new sign-in: auth_time and origin_jti stay those of the original authentication.
  assert.equal(a1.auth_time, a0.auth_time);
  assert.equal(i1.auth_time, i0.auth_time);
  assert.equal(a1.origin_jti, a0.origin_jti);
  // Without refresh-token rotation the same refresh token stays in use.
  assert.equal(refreshed.getRefreshToken().getToken(), first.getRefreshToken().getToken());

  // The refreshed access token works.
  assert.equal(attributeMap(await jsGetUserAttributes(user)).email, 'cy@example.com');
});

// --------------------------------------------------------------------------
// Token verification by independent libraries
// --------------------------------------------------------------------------

test('aws-jwt-verify and jose verify ID and access tokens against the served JWKS and discovery document', async (t) => {
  const app = await newApp(t);
  const { pool, sub } = await registered(app, 'dee', 'dee@example.com');
  const session = await jsAuthenticate(cognitoUser(pool, 'dee'), PASSWORD);
  const idToken = session.getIdToken().getJwtToken();
  const accessToken = session.getAccessToken().getJwtToken();

  // The JWKS document: RSA signing keys as Cognito publishes them.
  const jwksResponse = await fetch(app.jwksUri);
  assert.equal(jwksResponse.status, 200);
  assert.match(jwksResponse.headers.get('content-type') ?? '', /json/);
  const jwks = await jwksResponse.json();
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.length >= 1);
  for (const key of jwks.keys) {
    assert.deepEqual(Object.keys(key).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    assert.equal(key.kty, 'RSA');
    assert.equal(key.alg, 'RS256');
    assert.equal(key.use, 'sig');
    assert.equal(key.e, 'AQAB');
  }
  for (const token of [idToken, accessToken]) {
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'RS256');
    assert.ok(jwks.keys.some((k) => k.kid === header.kid), 'token kid is in the JWKS');
  }

  // The OpenID discovery document points at the same issuer and JWKS.
  const discoveryResponse = await fetch(`${app.issuer}/.well-known/openid-configuration`);
  assert.equal(discoveryResponse.status, 200);
  const discovery = await discoveryResponse.json();
  assert.equal(discovery.issuer, app.issuer);
  assert.equal(discovery.jwks_uri, app.jwksUri);
  assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256']);

  // aws-jwt-verify's generic verifier (JwtVerifier; JwtRsaVerifier is its deprecated alias).
  const idPayload = await awsJwtVerifier(app, { tokenUse: 'id' }).verify(idToken);
  assert.equal(idPayload.sub, sub);
  assert.equal(idPayload.email, 'dee@example.com');
  const accessPayload = await awsJwtVerifier(app, { tokenUse: 'access' }).verify(accessToken);
  assert.equal(accessPayload.username, 'dee');

  // jose, finding the key set the way an OIDC client does: from the discovery document.
  const keySet = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const verifiedId = await jwtVerify(idToken, keySet, {
    issuer: discovery.issuer,
    audience: app.clientId,
    algorithms: ['RS256'],
  });
  assert.equal(verifiedId.payload.sub, sub);
  assert.equal(verifiedId.payload.token_use, 'id');
  const verifiedAccess = await jwtVerify(accessToken, keySet, { issuer: discovery.issuer, algorithms: ['RS256'] });
  assert.equal(verifiedAccess.payload.client_id, app.clientId);
  assert.equal(verifiedAccess.payload.token_use, 'access');

  // A tampered token fails both verifiers.
  const [h, , s] = idToken.split('.');
  const forged = Buffer.from(JSON.stringify({ ...idPayload, email: 'mallory@example.com' })).toString('base64url');
  const tampered = `${h}.${forged}.${s}`;
  await assert.rejects(jwtVerify(tampered, keySet, { issuer: app.issuer, audience: app.clientId }));
  await assert.rejects(awsJwtVerifier(app, { tokenUse: 'id' }).verify(tampered));

  // Every pool signs with its own keys: another pool's JWKS does not have this token's key.
  const other = await newApp(t);
  const err = await rejection(awsJwtVerifier(other, { tokenUse: 'id' }).verify(idToken, { issuer: null }));
  assert.ok(err instanceof KidNotFoundInJwksError || /issuer|kid/i.test(err.message), err.message);
  await assert.rejects(jwtVerify(idToken, createRemoteJWKSet(new URL(other.jwksUri))));
});

// --------------------------------------------------------------------------
// The AWS SDK v3 with no AWS credentials
// --------------------------------------------------------------------------

test('AWS SDK: sign-up, resend and confirm, then password sign-in, GetUser and REFRESH_TOKEN_AUTH', async (t) => {
  const app = await newApp(t);
  const out = await pub.send(
    new SignUpCommand({
      ClientId: app.clientId,
      Username: 'eve',
      Password: PASSWORD,
      UserAttributes: [{ Name: 'email', Value: 'eve@example.com' }],
    }),
  );
  assert.equal(out.UserConfirmed, false);
  assert.match(out.UserSub, UUID);
  assert.deepEqual(out.CodeDeliveryDetails, {
    AttributeName: 'email',
    DeliveryMedium: 'EMAIL',
    Destination: 'e***@e***',
  });

  const resent = await pub.send(new ResendConfirmationCodeCommand({ ClientId: app.clientId, Username: 'eve' }));
  assert.deepEqual(resent.CodeDeliveryDetails, out.CodeDeliveryDetails);
  const code = await readCode(server.endpoint, 'eve@example.com');
  await pub.send(new ConfirmSignUpCommand({ ClientId: app.clientId, Username: 'eve', ConfirmationCode: code }));

  const auth = await pub.send(
    new InitiateAuthCommand({
      ClientId: app.clientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: 'eve', PASSWORD },
    }),
  );
  assert.equal(auth.ChallengeName, undefined);
  const result = auth.AuthenticationResult;
  assert.equal(result.TokenType, 'Bearer');
  assert.equal(result.ExpiresIn, ONE_HOUR);
  assert.ok(result.AccessToken && result.IdToken && result.RefreshToken);

  const me = await pub.send(new GetUserCommand({ AccessToken: result.AccessToken }));
  assert.equal(me.Username, 'eve');
  assert.deepEqual(attributeMap(me.UserAttributes), {
    sub: out.UserSub,
    email: 'eve@example.com',
    email_verified: 'true',
  });

  const refreshed = await pub.send(
    new InitiateAuthCommand({
      ClientId: app.clientId,
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: result.RefreshToken },
    }),
  );
  const r = refreshed.AuthenticationResult;
  assert.equal(r.RefreshToken, undefined, 'no new refresh token without rotation');
  assert.equal(r.TokenType, 'Bearer');
  assert.equal(r.ExpiresIn, ONE_HOUR);
  assert.equal((await pub.send(new GetUserCommand({ AccessToken: r.AccessToken }))).Username, 'eve');
});

test('AWS SDK: the errors Cognito gives for weak passwords, duplicates, wrong codes, unknown and unconfirmed users', async (t) => {
  const app = await newApp(t);
  const signUp = (Username, Password, email) =>
    pub.send(
      new SignUpCommand({
        ClientId: app.clientId,
        Username,
        Password,
        UserAttributes: [{ Name: 'email', Value: email }],
      }),
    );
  const passwordAuth = (USERNAME, PASSWORD_) =>
    pub.send(
      new InitiateAuthCommand({
        ClientId: app.clientId,
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME, PASSWORD: PASSWORD_ },
      }),
    );

  // Weak passwords, against the default policy (8+ chars, upper, lower, digit, symbol).
  let err = await rejection(signUp('weak', 'Sh0rt!', 'weak@example.com'));
  assertAwsError(err, 'InvalidPasswordException', 'Password did not conform with policy: Password not long enough');
  err = await rejection(signUp('weak', 'alllowercase1!', 'weak@example.com'));
  assertAwsError(err, 'InvalidPasswordException');
  assert.match(err.message, /^Password did not conform with policy: /);
  // amazon-cognito-identity-js surfaces the same code.
  const pool = userPool(server.endpoint, app.poolId, app.clientId);
  err = await rejection(jsSignUp(pool, 'weak', 'password', { email: 'weak@example.com' }));
  assert.equal(err.code, 'InvalidPasswordException');

  await signUp('cal', PASSWORD, 'cal@example.com');
  err = await rejection(signUp('cal', OTHER_PASSWORD, 'cal2@example.com'));
  assertAwsError(err, 'UsernameExistsException', 'User already exists');

  // Unconfirmed: cannot sign in, in either flow.
  err = await rejection(passwordAuth('cal', PASSWORD));
  assertAwsError(err, 'UserNotConfirmedException', 'User is not confirmed.');
  err = await rejection(jsAuthenticate(cognitoUser(pool, 'cal'), PASSWORD));
  assert.equal(err.code, 'UserNotConfirmedException');

  // Wrong confirmation code, then the right one; a second confirmation is refused.
  const code = await readCode(server.endpoint, 'cal@example.com');
  err = await rejection(
    pub.send(new ConfirmSignUpCommand({ ClientId: app.clientId, Username: 'cal', ConfirmationCode: wrongCode(code) })),
  );
  assertAwsError(err, 'CodeMismatchException', 'Invalid verification code provided, please try again.');
  err = await rejection(jsConfirm(cognitoUser(pool, 'cal'), wrongCode(code)));
  assert.equal(err.code, 'CodeMismatchException');
  await pub.send(new ConfirmSignUpCommand({ ClientId: app.clientId, Username: 'cal', ConfirmationCode: code }));
  err = await rejection(
    pub.send(new ConfirmSignUpCommand({ ClientId: app.clientId, Username: 'cal', ConfirmationCode: code })),
  );
  assertAwsError(err, 'NotAuthorizedException', 'User cannot be confirmed. Current status is CONFIRMED');
  err = await rejection(pub.send(new ResendConfirmationCodeCommand({ ClientId: app.clientId, Username: 'cal' })));
  assertAwsError(err, 'InvalidParameterException', 'User is already confirmed.');

  // Wrong password for a confirmed user.
  err = await rejection(passwordAuth('cal', WRONG_PASSWORD));
  assertAwsError(err, 'NotAuthorizedException', 'Incorrect username or password.');

  // Unknown users (user-existence errors are not prevented on a client created through the API).
  err = await rejection(passwordAuth('nobody', PASSWORD));
  assertAwsError(err, 'UserNotFoundException', 'User does not exist.');
  err = await rejection(
    pub.send(new ConfirmSignUpCommand({ ClientId: app.clientId, Username: 'nobody', ConfirmationCode: '123456' })),
  );
  assertAwsError(err, 'UserNotFoundException');
  err = await rejection(pub.send(new ResendConfirmationCodeCommand({ ClientId: app.clientId, Username: 'nobody' })));
  assertAwsError(err, 'UserNotFoundException');

  // Tokens that are not access tokens.
  err = await rejection(pub.send(new GetUserCommand({ AccessToken: 'not.a.token' })));
  assertAwsError(err, 'NotAuthorizedException', 'Invalid Access Token');
  const { AuthenticationResult: tokens } = await passwordAuth('cal', PASSWORD);
  err = await rejection(pub.send(new GetUserCommand({ AccessToken: tokens.IdToken })));
  assertAwsError(err, 'NotAuthorizedException');
  err = await rejection(
    pub.send(new InitiateAuthCommand({ ClientId: app.clientId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: 'garbage' } })),
  );
  assertAwsError(err, 'NotAuthorizedException', 'Invalid Refresh Token');
});

test('AWS SDK: unknown app clients and flows the client does not allow', async (t) => {
  const app = await newApp(t, { client: { ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] } });
  const { pool } = await registered(app, 'fay', 'fay@example.com');

  let err = await rejection(
    pub.send(
      new InitiateAuthCommand({
        ClientId: app.clientId,
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: 'fay', PASSWORD },
      }),
    ),
  );
  assertAwsError(err, 'InvalidParameterException', 'USER_PASSWORD_AUTH flow not enabled for this client');
  const user = cognitoUser(pool, 'fay');
  user.setAuthenticationFlowType('USER_PASSWORD_AUTH');
  err = await rejection(jsAuthenticate(user, PASSWORD));
  assert.equal(err.code, 'InvalidParameterException');
  // SRP is allowed.
  assert.ok((await jsAuthenticate(cognitoUser(pool, 'fay'), PASSWORD)).isValid());

  const unknown = '1example23456789abcdefghij';
  err = await rejection(
    pub.send(new InitiateAuthCommand({ ClientId: unknown, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'fay', PASSWORD } })),
  );
  assertAwsError(err, 'ResourceNotFoundException', `User pool client ${unknown} does not exist.`);
  err = await rejection(
    pub.send(new SignUpCommand({ ClientId: unknown, Username: 'gus', Password: PASSWORD, UserAttributes: [{ Name: 'email', Value: 'gus@example.com' }] })),
  );
  assertAwsError(err, 'ResourceNotFoundException');
});

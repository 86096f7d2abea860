// Multi-factor authentication and remembered devices as a JavaScript app does
// them: amazon-cognito-identity-js (TOTP association and verification, the
// totpRequired / mfaRequired / mfaSetup / selectMFAType callbacks, and its
// automatic ConfirmDevice and DEVICE_SRP_AUTH for remembered devices), otplib
// as the user's authenticator app, and the AWS SDK v3 for what the library
// does not do (EMAIL_OTP) and for the operator's side.
//
// Every expectation is what Amazon Cognito does. Pools are created with MFA
// off and MFA is turned on with SetUserPoolMfaConfig, as Cognito requires for
// anything but SMS. SMS and email MFA need a pool SmsConfiguration and SES
// email sending (dummy ARNs here), and account recovery that does not use
// the MFA channel (admin_only here).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
  AdminCreateUserCommand,
  AdminGetDeviceCommand,
  AdminGetUserCommand,
  AdminListDevicesCommand,
  AdminSetUserMFAPreferenceCommand,
  AdminSetUserPasswordCommand,
  GetUserCommand,
  InitiateAuthCommand,
  RespondToAuthChallengeCommand,
  SetUserPoolMfaConfigCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { generate } from 'otplib';

import {
  AuthenticationDetails,
  PASSWORD,
  adminClient,
  cognitoUser,
  createApp,
  jsAuthenticate,
  outboxMessages,
  publicClient,
  readCode,
  rejection,
  startServer,
  userPool,
  wrongCode,
} from './helpers.js';

const TEMP_PASSWORD = 'Temp-horse-1!';
const SMS_CONFIGURATION = {
  SnsCallerArn: 'arn:aws:iam::123456789012:role/cognate-conformance-sms',
  ExternalId: 'cognate-conformance',
};
const SMS_MFA_MESSAGE = 'Your sign-in code is {####}.';
const SES_EMAIL_CONFIGURATION = {
  EmailSendingAccount: 'DEVELOPER',
  SourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/no-reply@example.com',
  From: 'no-reply@example.com',
};
const EMAIL_MFA_CONFIGURATION = { Subject: 'Your sign-in code', Message: 'Hello, your sign-in code is {####}.' };
const ADMIN_ONLY_RECOVERY = { RecoveryMechanisms: [{ Priority: 1, Name: 'admin_only' }] };
const DEVICE_KEY = /^us-east-1_[0-9a-f-]+$/;
// What amazon-cognito-identity-js sends as ConfirmDevice's DeviceName (its
// CognitoUser.js: navigator.userAgent in a browser, 'nodejs' without navigator).
const LIBRARY_DEVICE_NAME = typeof navigator !== 'undefined' ? navigator.userAgent : 'nodejs';

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --------------------------------------------------------------------------
// The user's authenticator app
// --------------------------------------------------------------------------

const TOTP_STEP = 30;
const TOTP_MARGIN = 3; // seconds: never hand out a code this close to the end of its step

/**
 * An authenticator app holding one secret (otplib: RFC 6238, SHA-1, six
 * digits, 30 s steps). `code()` hands out each time step's code at most once
 * and never in the last seconds of its step (it waits for the next step), so
 * no code is reused by accident and each reaches the server inside its step.
 */
class Authenticator {
  constructor(secret) {
    this.secret = secret;
    this.usedSteps = new Set();
  }

  async code() {
    for (;;) {
      const now = Date.now() / 1000;
      const step = Math.floor(now / TOTP_STEP);
      const left = TOTP_STEP - (now - step * TOTP_STEP);
      if (!this.usedSteps.has(step) && left > TOTP_MARGIN) {
        this.usedSteps.add(step);
        return generate({ secret: this.secret, epoch: step * TOTP_STEP });
      }
      await sleep((left + 0.05) * 1000);
    }
  }

  /** Six digits that are not the code of any step near now. */
  async wrong() {
    const now = Math.floor(Date.now() / 1000);
    const near = new Set(
      await Promise.all([-2, -1, 0, 1, 2].map((d) => generate({ secret: this.secret, epoch: now + d * TOTP_STEP }))),
    );
    return ['000000', '111111', '222222', '333333', '444444', '555555'].find((c) => !near.has(c));
  }
}

/** Bytes of a base32 SecretCode. */
function secretLength(secret) {
  const clean = secret.replace(/=+$/, '');
  assert.match(clean, /^[A-Z2-7]+$/);
  return Math.floor((clean.length * 5) / 8);
}

// --------------------------------------------------------------------------
// Pools, users
// --------------------------------------------------------------------------

/**
 * A pool with the prerequisites of the factors asked for, MFA set with
 * SetUserPoolMfaConfig, and the helpers' app client (SRP, password, refresh).
 */
async function mfaApp(t, { mfa = 'OPTIONAL', totp = false, sms = false, email = false, device = undefined } = {}) {
  const pool = {};
  if (sms) pool.SmsConfiguration = SMS_CONFIGURATION;
  if (email) pool.EmailConfiguration = SES_EMAIL_CONFIGURATION;
  if (sms || email) pool.AccountRecoverySetting = ADMIN_ONLY_RECOVERY;
  if (device) pool.DeviceConfiguration = device;
  const app = await createApp(admin, server.endpoint, { pool });
  t.after(app.cleanup);

  const config = { UserPoolId: app.poolId, MfaConfiguration: mfa };
  if (totp) config.SoftwareTokenMfaConfiguration = { Enabled: true };
  if (sms) config.SmsMfaConfiguration = { SmsAuthenticationMessage: SMS_MFA_MESSAGE, SmsConfiguration: SMS_CONFIGURATION };
  if (email) config.EmailMfaConfiguration = EMAIL_MFA_CONFIGURATION;
  await admin.send(new SetUserPoolMfaConfigCommand(config));
  return app;
}

/** A CONFIRMED user with a permanent password and verified email / phone, made by the operator. */
async function confirmedUser(app, Username, { email, phone } = {}) {
  const UserAttributes = [];
  if (email) UserAttributes.push({ Name: 'email', Value: email }, { Name: 'email_verified', Value: 'true' });
  if (phone) UserAttributes.push({ Name: 'phone_number', Value: phone }, { Name: 'phone_number_verified', Value: 'true' });
  await admin.send(
    new AdminCreateUserCommand({
      UserPoolId: app.poolId,
      Username,
      TemporaryPassword: TEMP_PASSWORD,
      MessageAction: 'SUPPRESS',
      UserAttributes,
    }),
  );
  await admin.send(new AdminSetUserPasswordCommand({ UserPoolId: app.poolId, Username, Password: PASSWORD, Permanent: true }));
}

/** Addresses and numbers of their own: the outbox is server-wide. */
const uniqueEmail = (name) => `${name}-${randomUUID().slice(0, 8)}@example.com`;
const uniquePhone = () => `+1555${String(parseInt(randomUUID().replace(/-/g, '').slice(0, 12), 16) % 10 ** 7).padStart(7, '0')}`;
const smsMask = (phone) => `+${'*'.repeat(phone.length - 5)}${phone.slice(-4)}`;

const setPreference = (app, Username, settings) =>
  admin.send(new AdminSetUserMFAPreferenceCommand({ UserPoolId: app.poolId, Username, ...settings }));

// --------------------------------------------------------------------------
// amazon-cognito-identity-js, promisified with every MFA callback
// --------------------------------------------------------------------------

/**
 * user.authenticateUser (SRP). Resolves to { kind, ... }: 'success' with the
 * session (and the library's userConfirmationNecessary), or the name of the
 * MFA callback the library called with its challenge name and parameters.
 */
function signIn(user, password = PASSWORD) {
  const details = new AuthenticationDetails({ Username: user.getUsername(), Password: password });
  return new Promise((resolve, reject) => {
    const challenge = (kind) => (challengeName, challengeParameters) => resolve({ kind, challengeName, challengeParameters });
    user.authenticateUser(details, {
      onSuccess: (session, userConfirmationNecessary) => resolve({ kind: 'success', session, userConfirmationNecessary }),
      onFailure: reject,
      totpRequired: challenge('totpRequired'),
      mfaRequired: challenge('mfaRequired'),
      mfaSetup: challenge('mfaSetup'),
      selectMFAType: challenge('selectMFAType'),
      newPasswordRequired: () => reject(new Error('unexpected newPasswordRequired')),
      customChallenge: () => reject(new Error('unexpected customChallenge')),
    });
  });
}

/** user.sendMFACode: resolves to the session, rejects with Cognito's error. */
function sendCode(user, code, mfaType) {
  return new Promise((resolve, reject) =>
    user.sendMFACode(code, { onSuccess: (session) => resolve(session), onFailure: reject }, mfaType),
  );
}

/** user.sendMFASelectionAnswer: resolves to the next challenge as signIn does. */
function selectMfa(user, answer) {
  return new Promise((resolve, reject) => {
    const challenge = (kind) => (challengeName, challengeParameters) => resolve({ kind, challengeName, challengeParameters });
    user.sendMFASelectionAnswer(answer, {
      onFailure: reject,
      mfaRequired: challenge('mfaRequired'),
      totpRequired: challenge('totpRequired'),
    });
  });
}

/** user.associateSoftwareToken (access token when signed in, else the challenge Session): resolves to the SecretCode. */
function associate(user) {
  return new Promise((resolve, reject) =>
    user.associateSoftwareToken({ associateSecretCode: resolve, onFailure: reject }),
  );
}

/**
 * user.verifySoftwareToken: when signed in, resolves to VerifySoftwareToken's
 * answer; during MFA_SETUP the library also answers MFA_SETUP and resolves to
 * the new session.
 */
function verify(user, code, friendlyDeviceName) {
  return new Promise((resolve, reject) =>
    user.verifySoftwareToken(code, friendlyDeviceName, { onSuccess: resolve, onFailure: reject }),
  );
}

function setUserMfaPreference(user, sms, totp) {
  return new Promise((resolve, reject) =>
    user.setUserMfaPreference(sms, totp, (err, result) => (err ? reject(err) : resolve(result))),
  );
}

const callbacks = (fn) => new Promise((resolve, reject) => fn({ onSuccess: resolve, onFailure: reject }));

const accessTokenOf = (user) => user.getSignInUserSession().getAccessToken().getJwtToken();

const deviceAttributes = (device) => Object.fromEntries(device.DeviceAttributes.map((a) => [a.Name, a.Value]));

async function adminDeviceKeys(app, Username) {
  const { Devices } = await admin.send(new AdminListDevicesCommand({ UserPoolId: app.poolId, Username }));
  return Devices.map((d) => d.DeviceKey).sort();
}

// --------------------------------------------------------------------------
// TOTP
// --------------------------------------------------------------------------

test('amazon-cognito-identity-js: associate and verify a software token, prefer it, then totpRequired at sign-in', async (t) => {
  const app = await mfaApp(t, { totp: true });
  await confirmedUser(app, 'tia', { email: uniqueEmail('tia') });
  const pool = userPool(server.endpoint, app.poolId, app.clientId);

  // Signed in with the password alone (no factor yet), the user adds an authenticator app.
  const user = cognitoUser(pool, 'tia');
  await jsAuthenticate(user, PASSWORD);
  const secret = await associate(user);
  assert.ok(secretLength(secret) >= 16, 'a TOTP key of at least 128 bits');
  const totp = new Authenticator(secret);

  let err = await rejection(verify(user, await totp.wrong(), 'Tia phone'));
  assert.equal(err.code, 'EnableSoftwareTokenMFAException');
  const verified = await verify(user, await totp.code(), 'Tia phone');
  assert.equal(verified.Status, 'SUCCESS');
  assert.equal(await setUserMfaPreference(user, null, { PreferredMfa: true, Enabled: true }), 'SUCCESS');

  const me = await pub.send(new GetUserCommand({ AccessToken: accessTokenOf(user) }));
  assert.deepEqual(me.UserMFASettingList, ['SOFTWARE_TOKEN_MFA']);
  assert.equal(me.PreferredMfaSetting, 'SOFTWARE_TOKEN_MFA');

  // Next sign-in: the library's totpRequired; a wrong code is refused...
  const second = cognitoUser(pool, 'tia');
  let step = await signIn(second);
  assert.equal(step.kind, 'totpRequired');
  assert.equal(step.challengeName, 'SOFTWARE_TOKEN_MFA');
  err = await rejection(sendCode(second, await totp.wrong(), 'SOFTWARE_TOKEN_MFA'));
  assert.equal(err.code, 'CodeMismatchException');

  // ...and a fresh code signs in.
  const third = cognitoUser(pool, 'tia');
  step = await signIn(third);
  assert.equal(step.kind, 'totpRequired');
  const session = await sendCode(third, await totp.code(), 'SOFTWARE_TOKEN_MFA');
  assert.ok(session.isValid());
  assert.equal(session.getAccessToken().decodePayload().username, 'tia');
  assert.equal(session.getIdToken().decodePayload()['cognito:username'], 'tia');
});

test('amazon-cognito-identity-js: mfaSetup when the pool requires MFA, completed by associate and verify', async (t) => {
  const app = await mfaApp(t, { mfa: 'ON', totp: true });
  await confirmedUser(app, 'max', { email: uniqueEmail('max') });
  const pool = userPool(server.endpoint, app.poolId, app.clientId);

  const user = cognitoUser(pool, 'max');
  const step = await signIn(user);
  assert.equal(step.kind, 'mfaSetup');
  assert.equal(step.challengeName, 'MFA_SETUP');
  assert.ok(JSON.parse(step.challengeParameters.MFAS_CAN_SETUP).includes('SOFTWARE_TOKEN_MFA'));

  // Not signed in yet, so the library uses the challenge's Session for both calls,
  // then answers MFA_SETUP with VerifySoftwareToken's Session.
  const totp = new Authenticator(await associate(user));
  const session = await verify(user, await totp.code(), 'Max phone');
  assert.ok(session.isValid());
  assert.equal(session.getAccessToken().decodePayload().username, 'max');
  const me = await pub.send(new GetUserCommand({ AccessToken: session.getAccessToken().getJwtToken() }));
  assert.ok(me.UserMFASettingList.includes('SOFTWARE_TOKEN_MFA'));

  // From now on: totpRequired.
  const again = cognitoUser(pool, 'max');
  assert.equal((await signIn(again)).kind, 'totpRequired');
  assert.ok((await sendCode(again, await totp.code(), 'SOFTWARE_TOKEN_MFA')).isValid());
});

// --------------------------------------------------------------------------
// SMS_MFA, SELECT_MFA_TYPE, EMAIL_OTP
// --------------------------------------------------------------------------

test('amazon-cognito-identity-js: mfaRequired for SMS MFA, answered with the texted code', async (t) => {
  const app = await mfaApp(t, { sms: true });
  const phone = uniquePhone();
  await confirmedUser(app, 'sam', { phone });
  await setPreference(app, 'sam', { SMSMfaSettings: { Enabled: true, PreferredMfa: true } });
  const pool = userPool(server.endpoint, app.poolId, app.clientId);

  const user = cognitoUser(pool, 'sam');
  let step = await signIn(user);
  assert.equal(step.kind, 'mfaRequired');
  assert.equal(step.challengeName, 'SMS_MFA');
  assert.equal(step.challengeParameters.CODE_DELIVERY_DELIVERY_MEDIUM, 'SMS');
  assert.equal(step.challengeParameters.CODE_DELIVERY_DESTINATION, smsMask(phone));
  const [message] = await outboxMessages(server.endpoint, phone, 1);
  const code = /\b(\d{6})\b/.exec(message.Body)[1];
  assert.equal(message.Body, SMS_MFA_MESSAGE.replace('{####}', code));
  const err = await rejection(sendCode(user, wrongCode(code)));
  assert.equal(err.code, 'CodeMismatchException');

  const again = cognitoUser(pool, 'sam');
  step = await signIn(again);
  assert.equal(step.kind, 'mfaRequired');
  const session = await sendCode(again, await readCode(server.endpoint, phone)); // the library's default: SMS_MFA
  assert.ok(session.isValid());
  assert.equal(session.getAccessToken().decodePayload().username, 'sam');
});

test('amazon-cognito-identity-js: selectMFAType with SMS and email enabled and none preferred', async (t) => {
  const app = await mfaApp(t, { sms: true, email: true });
  const phone = uniquePhone();
  await confirmedUser(app, 'sol', { phone, email: uniqueEmail('sol') });
  await setPreference(app, 'sol', {
    SMSMfaSettings: { Enabled: true, PreferredMfa: false },
    EmailMfaSettings: { Enabled: true, PreferredMfa: false },
  });
  const { UserMFASettingList } = await admin.send(new AdminGetUserCommand({ UserPoolId: app.poolId, Username: 'sol' }));
  assert.deepEqual([...UserMFASettingList].sort(), ['EMAIL_OTP', 'SMS_MFA']);
  const pool = userPool(server.endpoint, app.poolId, app.clientId);

  const user = cognitoUser(pool, 'sol');
  const step = await signIn(user);
  assert.equal(step.kind, 'selectMFAType');
  assert.equal(step.challengeName, 'SELECT_MFA_TYPE');
  assert.deepEqual(JSON.parse(step.challengeParameters.MFAS_CAN_CHOOSE).sort(), ['EMAIL_OTP', 'SMS_MFA']);

  const next = await selectMfa(user, 'SMS_MFA');
  assert.equal(next.kind, 'mfaRequired');
  assert.equal(next.challengeName, 'SMS_MFA');
  assert.equal(next.challengeParameters.CODE_DELIVERY_DESTINATION, smsMask(phone));
  const session = await sendCode(user, await readCode(server.endpoint, phone));
  assert.equal(session.getAccessToken().decodePayload().username, 'sol');
});

test('AWS SDK: EMAIL_OTP (amazon-cognito-identity-js 6.3 has no email MFA) with the mailed code', async (t) => {
  const app = await mfaApp(t, { email: true });
  const email = uniqueEmail('eve');
  await confirmedUser(app, 'eve', { email });
  await setPreference(app, 'eve', { EmailMfaSettings: { Enabled: true, PreferredMfa: true } });

  const signInEve = () =>
    pub.send(
      new InitiateAuthCommand({ ClientId: app.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'eve', PASSWORD } }),
    );
  const respond = (challenge, code) =>
    pub.send(
      new RespondToAuthChallengeCommand({
        ClientId: app.clientId,
        ChallengeName: 'EMAIL_OTP',
        Session: challenge.Session,
        ChallengeResponses: { USERNAME: 'eve', EMAIL_OTP_CODE: code },
      }),
    );

  let challenge = await signInEve();
  assert.equal(challenge.ChallengeName, 'EMAIL_OTP');
  assert.equal(challenge.AuthenticationResult, undefined);
  assert.ok(challenge.Session);
  assert.equal(challenge.ChallengeParameters.CODE_DELIVERY_DELIVERY_MEDIUM, 'EMAIL');
  assert.equal(challenge.ChallengeParameters.CODE_DELIVERY_DESTINATION, 'e***@e***');
  const [message] = await outboxMessages(server.endpoint, email, 1);
  assert.equal(message.Subject, EMAIL_MFA_CONFIGURATION.Subject);
  const code = /\b(\d{6})\b/.exec(message.Body)[1];
  const err = await rejection(respond(challenge, wrongCode(code)));
  assert.equal(err.name, 'CodeMismatchException');

  challenge = await signInEve();
  const done = await respond(challenge, await readCode(server.endpoint, email));
  assert.equal(done.ChallengeName, undefined);
  assert.ok(done.AuthenticationResult.AccessToken && done.AuthenticationResult.RefreshToken);
  const me = await pub.send(new GetUserCommand({ AccessToken: done.AuthenticationResult.AccessToken }));
  assert.equal(me.Username, 'eve');
  assert.deepEqual(me.UserMFASettingList, ['EMAIL_OTP']);
  assert.equal(me.PreferredMfaSetting, 'EMAIL_OTP');
});

// --------------------------------------------------------------------------
// Remembered devices
// --------------------------------------------------------------------------

test('amazon-cognito-identity-js: a remembered device signs in by device SRP without MFA, until forgotten', async (t) => {
  const app = await mfaApp(t, {
    totp: true,
    device: { ChallengeRequiredOnNewDevice: true, DeviceOnlyRememberedOnUserPrompt: false },
  });
  await confirmedUser(app, 'dee', { email: uniqueEmail('dee') });
  const pool = userPool(server.endpoint, app.poolId, app.clientId); // a fresh in-memory storage
  const storageKey = (name) => `CognitoIdentityServiceProvider.${app.clientId}.dee.${name}`;

  // First sign-in (no factor yet): tokens come with NewDeviceMetadata, and the
  // library confirms the device itself and keeps its key and secret.
  const first = cognitoUser(pool, 'dee');
  const r1 = await signIn(first);
  assert.equal(r1.kind, 'success');
  assert.notEqual(r1.userConfirmationNecessary, true, 'remembered without asking (DeviceOnlyRememberedOnUserPrompt false)');
  const deviceKey = first.deviceKey;
  assert.match(deviceKey, DEVICE_KEY);
  assert.equal(pool.storage.getItem(storageKey('deviceKey')), deviceKey);
  assert.ok(pool.storage.getItem(storageKey('deviceGroupKey')));
  assert.ok(pool.storage.getItem(storageKey('randomPasswordKey')));
  const { Device } = await admin.send(new AdminGetDeviceCommand({ UserPoolId: app.poolId, Username: 'dee', DeviceKey: deviceKey }));
  assert.equal(Device.DeviceKey, deviceKey);
  assert.equal(deviceAttributes(Device).device_name, LIBRARY_DEVICE_NAME);
  assert.equal(deviceAttributes(Device)['dev:device_remembered_status'], 'remembered');

  // TOTP on, the device (explicitly) remembered, and listed.
  const totp = new Authenticator(await associate(first));
  assert.equal((await verify(first, await totp.code(), 'Dee phone')).Status, 'SUCCESS');
  await setUserMfaPreference(first, null, { PreferredMfa: true, Enabled: true });
  assert.equal(await callbacks((cb) => first.setDeviceStatusRemembered(cb)), 'SUCCESS');
  const listed = await callbacks((cb) => first.listDevices(10, null, cb));
  assert.deepEqual(listed.Devices.map((d) => d.DeviceKey), [deviceKey]);

  // Second sign-in on the same storage: after the password, DEVICE_SRP_AUTH and
  // DEVICE_PASSWORD_VERIFIER with the stored device secret; no TOTP asked.
  const second = cognitoUser(pool, 'dee');
  const r2 = await signIn(second);
  assert.equal(r2.kind, 'success', `expected no MFA challenge, got ${r2.kind}`);
  assert.equal(second.deviceKey, deviceKey);
  assert.equal(r2.session.getAccessToken().decodePayload().username, 'dee');
  assert.equal(r2.session.getAccessToken().decodePayload().device_key, deviceKey);
  assert.deepEqual(await adminDeviceKeys(app, 'dee'), [deviceKey]);

  // Forgotten: gone from Cognito and from the library's storage.
  assert.equal(await callbacks((cb) => second.forgetDevice(cb)), 'SUCCESS');
  assert.equal(pool.storage.getItem(storageKey('deviceKey')), null);
  assert.deepEqual(await adminDeviceKeys(app, 'dee'), []);

  // So the next sign-in is a new device again: TOTP is asked, and after it
  // the library confirms the new device.
  const third = cognitoUser(pool, 'dee');
  const r3 = await signIn(third);
  assert.equal(r3.kind, 'totpRequired');
  const session = await sendCode(third, await totp.code(), 'SOFTWARE_TOKEN_MFA');
  assert.ok(session.isValid());
  assert.match(third.deviceKey, DEVICE_KEY);
  assert.notEqual(third.deviceKey, deviceKey);
  assert.equal(pool.storage.getItem(storageKey('deviceKey')), third.deviceKey);
  assert.deepEqual(await adminDeviceKeys(app, 'dee'), [third.deviceKey]);
});

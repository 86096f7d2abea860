// Shared plumbing for the Node.js conformance suite.
//
// The suite drives a Cognate server with JavaScript clients nobody on the
// team wrote (amazon-cognito-identity-js, the AWS SDK v3, aws-jwt-verify,
// jose) and asserts what real Amazon Cognito does.
//
// Server: `startServer()` runs $COGNATE_BIN (default
// <repo>/target/debug/cognate) as
//   cognate serve --data-dir <fresh temporary directory> --listen 127.0.0.1:<free port>
// (a SQLite file, the engine `cognate serve` runs by default; or
// `--database-url $COGNATE_CONFORMANCE_DATABASE_URL` instead when that is
// set) in its own process group, waits for GET /ready, and `stop()` kills
// the group and removes the directory. If COGNATE_ENDPOINT is set, that
// server is used and nothing is started. Server output goes to
// conformance/node/logs/. With `tls: { cert, key, ca }` (PEM file paths, and
// the CA's PEM text) it serves HTTPS (`--tls-cert`, `--tls-key`); with
// `tls: { devDir }` it serves HTTPS with a development certificate it makes
// itself in that directory (`--dev-tls`, CA in cognate-dev-ca.pem). The
// endpoint is then https://127.0.0.1:<port>, and clients given
// `tlsClientOptions(ca)` trust it.
//
// node --test runs every test file in its own process, so each file starts
// (and stops) its own server from its top-level before()/after() hooks.

import dns from 'node:dns';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  DeleteUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import cognitoIdentity from 'amazon-cognito-identity-js';
import { chromium } from 'playwright-core';

const { AuthenticationDetails, CognitoUser, CognitoUserAttribute, CognitoUserPool } = cognitoIdentity;

export { AuthenticationDetails, CognitoUser, CognitoUserAttribute, CognitoUserPool };

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const NODE_DIR = path.resolve(HERE, '..');
export const REPO_ROOT = path.resolve(NODE_DIR, '..', '..');

export const ACCESS_KEY_ID = 'AKIACOGNATETEST00001';
export const SECRET_ACCESS_KEY = 'cognateConformanceTestSecretKey000000001'; // 40 chars
export const REGION = 'us-east-1';
export const PASSWORD = 'Corr3ct-horse!';
export const OTHER_PASSWORD = 'N3w-battery-staple!';
export const WRONG_PASSWORD = 'Wr0ng-horse!';

const READY_TIMEOUT_MS = 20_000;

// Keep anything configured on this machine (profiles, credentials, endpoint
// overrides) out of the clients under test: the SDK reads these lazily.
for (const name of Object.keys(process.env)) {
  if (name.startsWith('AWS_')) delete process.env[name];
}
const NOWHERE = path.join(NODE_DIR, 'logs', 'no-such-dir');
process.env.AWS_CONFIG_FILE = path.join(NOWHERE, 'config');
process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(NOWHERE, 'credentials');
process.env.AWS_EC2_METADATA_DISABLED = 'true';
// The SDK's notice that releases after early 2027 need Node 22 is not about the server.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// --------------------------------------------------------------------------
// Server lifecycle
// --------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tail(file, limit = 4000) {
  try {
    const data = fs.readFileSync(file);
    return data.subarray(Math.max(0, data.length - limit)).toString('utf8');
  } catch {
    return '<no log>';
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function storageArgs(dataDir) {
  const url = process.env.COGNATE_CONFORMANCE_DATABASE_URL;
  return url ? ['--database-url', url] : ['--data-dir', dataDir];
}

function timestamp() {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
}

/** The status of GET `url` over HTTPS, trusting only the PEM `ca`. */
function httpsStatus(url, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Start the server under test (or use $COGNATE_ENDPOINT).
 * Resolves to { endpoint, port, logPath, stop() }.
 */
export async function startServer({ extraArgs = [], tls = null } = {}) {
  const external = process.env.COGNATE_ENDPOINT;
  if (external && tls) {
    throw new Error('this test serves TLS with a certificate it makes itself: run it without COGNATE_ENDPOINT');
  }
  if (external) {
    const endpoint = external.replace(/\/+$/, '');
    return { endpoint, port: Number(new URL(endpoint).port), logPath: null, stop: async () => {} };
  }

  const binary = process.env.COGNATE_BIN || path.join(REPO_ROOT, 'target', 'debug', 'cognate');
  try {
    fs.accessSync(binary, fs.constants.X_OK);
  } catch {
    throw new Error(
      `Cognate binary not found at ${binary}: build it (cargo build), set COGNATE_BIN, ` +
        'or point COGNATE_ENDPOINT at a running server',
    );
  }

  const port = await freePort();
  const logDir = path.join(NODE_DIR, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const logPath = path.join(logDir, `cognate-${timestamp()}-${port}.log`);
  const logFd = fs.openSync(logPath, 'w');
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  let tlsArgs = [];
  if (tls?.devDir) tlsArgs = ['--dev-tls', tls.devDir];
  else if (tls) tlsArgs = ['--tls-cert', tls.cert, '--tls-key', tls.key];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cognate-conformance-'));

  const child = spawn(binary, ['serve', ...storageArgs(dataDir), '--listen', `127.0.0.1:${port}`, ...tlsArgs, ...extraArgs], {
    env: {
      ...process.env,
      COGNATE_ADMIN_ACCESS_KEY_ID: ACCESS_KEY_ID,
      COGNATE_ADMIN_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      // A fresh master key per server, so nothing is written to a key file.
      COGNATE_MASTER_KEY: randomBytes(32).toString('hex'),
    },
    stdio: ['ignore', logFd, logFd],
    detached: true, // own process group, so stop() can kill everything it started
  });
  fs.closeSync(logFd);

  let exited = null;
  const exitedPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  // Never leave the server behind, even if the test process dies.
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);

  const stop = async () => {
    process.removeListener('exit', onExit);
    if (exited) return;
    killGroup('SIGTERM');
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 10_000);
    });
    const outcome = await Promise.race([exitedPromise, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      killGroup('SIGKILL');
      await exitedPromise;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw new Error(
        `cognate exited (${JSON.stringify(exited)}) before becoming ready; log ${logPath}:\n${tail(logPath)}`,
      );
    }
    try {
      if (tls) {
        // A development CA exists once the server has made it.
        const ca = tls.devDir ? fs.readFileSync(path.join(tls.devDir, 'cognate-dev-ca.pem'), 'utf8') : tls.ca;
        if ((await httpsStatus(`${endpoint}/ready`, ca)) === 200) break;
      } else {
        const r = await fetch(`${endpoint}/ready`, { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        if (r.status === 200) break;
      }
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`cognate not ready after ${READY_TIMEOUT_MS} ms; log ${logPath}:\n${tail(logPath)}`);
    }
    await sleep(100);
  }
  process.stderr.write(`[conformance] cognate at ${endpoint}, log ${logPath}\n`);
  return { endpoint, port, logPath, stop };
}

// --------------------------------------------------------------------------
// AWS SDK clients
// --------------------------------------------------------------------------

/** Client options that trust the PEM `ca` (a server started with `tls`). */
export function tlsClientOptions(ca) {
  return { requestHandler: { httpsAgent: new https.Agent({ ca }) } };
}

/** Admin client, signed with the configured admin keys. */
export function adminClient(endpoint, options = {}) {
  return new CognitoIdentityProviderClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    maxAttempts: 1,
    ...options,
  });
}

/**
 * A client with no AWS credentials at all, as an app has: the SDK sends the
 * public operations (SignUp, InitiateAuth, GetUser, ...) unsigned.
 */
export function publicClient(endpoint, options = {}) {
  return new CognitoIdentityProviderClient({
    region: REGION,
    endpoint,
    maxAttempts: 1,
    credentials: async () => {
      throw new Error('the public client must not need AWS credentials');
    },
    ...options,
  });
}

/** Run `promise` and return the error it rejects with; fail if it resolves. */
export async function rejection(promise) {
  try {
    const value = await promise;
    throw Object.assign(new Error(`expected a rejection, got ${JSON.stringify(value)?.slice(0, 500)}`), {
      unexpectedSuccess: true,
    });
  } catch (err) {
    if (err.unexpectedSuccess) throw err;
    return err;
  }
}

export function uniqueName(prefix = 'conf') {
  return `${prefix}-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/**
 * Create a pool that verifies email and a public app client allowing SRP,
 * password and refresh sign-in. Returns { poolId, clientId, issuer, jwksUri, pool, client, cleanup() }.
 */
export async function createApp(admin, endpoint, { pool: poolExtra = {}, client: clientExtra = {} } = {}) {
  const { UserPool: pool } = await admin.send(
    new CreateUserPoolCommand({ PoolName: uniqueName('node'), AutoVerifiedAttributes: ['email'], ...poolExtra }),
  );
  const { UserPoolClient: client } = await admin.send(
    new CreateUserPoolClientCommand({
      UserPoolId: pool.Id,
      ClientName: 'node-app',
      ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      ...clientExtra,
    }),
  );
  const issuer = `${endpoint}/${pool.Id}`;
  return {
    poolId: pool.Id,
    clientId: client.ClientId,
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    pool,
    client,
    cleanup: async () => {
      try {
        await admin.send(new DeleteUserPoolCommand({ UserPoolId: pool.Id }));
      } catch {
        /* best effort */
      }
    },
  };
}

// --------------------------------------------------------------------------
// The admin-only outbox
// --------------------------------------------------------------------------

const outboxSigner = new SignatureV4({
  service: 'cognito-idp',
  region: REGION,
  credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  sha256: Sha256,
});

/** The newest messages sent to `destination` (SigV4-signed admin call). */
export async function outboxMessages(endpoint, destination, limit = 1) {
  const url = new URL(endpoint);
  const query = { destination, limit: String(limit) };
  const request = new HttpRequest({
    method: 'GET',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/_cognate/outbox',
    query,
    headers: { host: url.host },
  });
  const signed = await outboxSigner.sign(request);
  const headers = { ...signed.headers };
  delete headers.host; // fetch sets the same Host itself
  const response = await fetch(`${endpoint}/_cognate/outbox?${new URLSearchParams(query)}`, { headers });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`outbox answered ${response.status}: ${text}`);
  return JSON.parse(text).Messages;
}

/** The six-digit code in the newest message sent to `destination`. */
export async function readCode(endpoint, destination) {
  const messages = await outboxMessages(endpoint, destination, 1);
  if (!messages || messages.length === 0) throw new Error(`no message to ${destination}`);
  const match = /\b(\d{6})\b/.exec(messages[0].Body);
  if (!match) throw new Error(`no code in ${JSON.stringify(messages[0])}`);
  return match[1];
}

/** A six-digit code that is certainly not `code`. */
export function wrongCode(code) {
  return code === '000000' ? '111111' : '000000';
}

// --------------------------------------------------------------------------
// amazon-cognito-identity-js, promisified
// --------------------------------------------------------------------------

/** A storage per pool object, so users of different tests never share cached tokens. */
class PrivateStorage {
  constructor() {
    this.data = new Map();
  }
  setItem(key, value) {
    this.data.set(key, String(value));
  }
  getItem(key) {
    return this.data.has(key) ? this.data.get(key) : null;
  }
  removeItem(key) {
    this.data.delete(key);
  }
  clear() {
    this.data.clear();
  }
}

export function userPool(endpoint, poolId, clientId) {
  return new CognitoUserPool({
    UserPoolId: poolId,
    ClientId: clientId,
    endpoint: `${endpoint}/`,
    Storage: new PrivateStorage(),
  });
}

export function cognitoUser(pool, username) {
  return new CognitoUser({ Username: username, Pool: pool, Storage: pool.storage });
}

const callback = (resolve, reject) => (err, result) => (err ? reject(err) : resolve(result));

export function jsSignUp(pool, username, password, attributes = {}) {
  const list = Object.entries(attributes).map(([Name, Value]) => new CognitoUserAttribute({ Name, Value }));
  return new Promise((resolve, reject) => pool.signUp(username, password, list, null, callback(resolve, reject)));
}

export function jsConfirm(user, code, forceAliasCreation = false) {
  return new Promise((resolve, reject) => user.confirmRegistration(code, forceAliasCreation, callback(resolve, reject)));
}

/**
 * user.authenticateUser with the flow the user is set to (SRP by default).
 * Resolves to the CognitoUserSession; any challenge other than success rejects.
 */
export function jsAuthenticate(user, password) {
  const details = new AuthenticationDetails({ Username: user.getUsername(), Password: password });
  return new Promise((resolve, reject) => {
    const unexpected = (name) => (...args) => reject(new Error(`unexpected challenge ${name}: ${JSON.stringify(args)}`));
    user.authenticateUser(details, {
      onSuccess: (session) => resolve(session),
      onFailure: (err) => reject(err),
      newPasswordRequired: unexpected('newPasswordRequired'),
      mfaRequired: unexpected('mfaRequired'),
      totpRequired: unexpected('totpRequired'),
      customChallenge: unexpected('customChallenge'),
      mfaSetup: unexpected('mfaSetup'),
      selectMFAType: unexpected('selectMFAType'),
    });
  });
}

export function jsRefresh(user, refreshToken) {
  return new Promise((resolve, reject) => user.refreshSession(refreshToken, callback(resolve, reject)));
}

export function jsGetUserAttributes(user) {
  return new Promise((resolve, reject) => user.getUserAttributes(callback(resolve, reject)));
}

/** Attributes as a plain { name: value } object. */
export function attributeMap(list) {
  return Object.fromEntries(list.map((a) => [a.getName ? a.getName() : a.Name, a.getValue ? a.getValue() : a.Value]));
}

/**
 * Resolves every `*.localhost` name to 127.0.0.1 in this process, as
 * browsers do by themselves (pool domains live under `localhost`). Returns
 * the function that puts the real resolver back.
 */
export function resolveLocalhostNames() {
  const real = dns.lookup;
  dns.lookup = function lookup(host, options, callback) {
    return real.call(dns, host.endsWith('.localhost') ? '127.0.0.1' : host, options, callback);
  };
  return () => {
    dns.lookup = real;
  };
}

// --------------------------------------------------------------------------
// The browser of the hosted-page tests
// --------------------------------------------------------------------------

/** Debian's Chromium headless shell ($COGNATE_CHROMIUM), which scripts/test installs. */
export const CHROMIUM = process.env.COGNATE_CHROMIUM || '/usr/bin/chromium-headless-shell';

/**
 * Launches Chromium with the flags this machine needs (no sandbox as root; no
 * background connections, which the closed network refuses), plus `extraArgs`.
 */
export async function launchChromium(extraArgs = []) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium-headless-shell (scripts/test does)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

// A user from a legacy store signs in through amazon-cognito-identity-js and
// is migrated on the way: the UserMigration trigger is a plain Python handler
// written for AWS Lambda (conformance/python/lambda_functions/triggers.py),
// run unchanged by Amazon's runtime interface client (awslambdaric, from the
// Python suite's venv) against Cognate's Lambda Runtime API.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { AdminGetUserCommand } from '@aws-sdk/client-cognito-identity-provider';

import {
  AuthenticationDetails,
  NODE_DIR,
  REPO_ROOT,
  adminClient,
  cognitoUser,
  createApp,
  rejection,
  startServer,
  userPool,
} from './helpers.js';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:legacy-migration';
const PYTHON = path.join(REPO_ROOT, 'conformance', '.venv', 'bin', 'python');
const FUNCTIONS = path.join(REPO_ROOT, 'conformance', 'python', 'lambda_functions');

let server;
let admin;
const workers = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  assert.ok(fs.existsSync(PYTHON), `no Python venv at ${PYTHON}: run conformance/setup.sh first`);
  const runtimeApi = `127.0.0.1:${await freePort()}`;
  const config = path.join(NODE_DIR, 'logs', `migration-${process.pid}.toml`);
  fs.mkdirSync(path.dirname(config), { recursive: true });
  fs.writeFileSync(config, `[functions."${ARN}"]\nruntime_api = "${runtimeApi}"\n`);
  server = await startServer({ extraArgs: ['--config', config] });
  admin = adminClient(server.endpoint);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  for (let i = 0; i < 2; i++) {
    workers.push(
      spawn(PYTHON, ['-m', 'awslambdaric', 'triggers.handler'], {
        cwd: FUNCTIONS,
        env: { ...env, AWS_LAMBDA_RUNTIME_API: runtimeApi, PYTHONPATH: FUNCTIONS },
        stdio: 'ignore',
      }),
    );
  }
});

after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  admin?.destroy();
  await server?.stop();
});

function passwordSignIn(user, username, password) {
  user.setAuthenticationFlowType('USER_PASSWORD_AUTH');
  const details = new AuthenticationDetails({ Username: username, Password: password });
  return new Promise((resolve, reject) => {
    user.authenticateUser(details, { onSuccess: resolve, onFailure: reject });
  });
}

test('UserMigration: a legacy user signs in with amazon-cognito-identity-js and is migrated', async (t) => {
  const app = await createApp(admin, server.endpoint, {
    pool: { LambdaConfig: { UserMigration: ARN } },
    client: { ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] },
  });
  t.after(app.cleanup);
  const pool = userPool(server.endpoint, app.poolId, app.clientId);

  const wrong = await rejection(passwordSignIn(cognitoUser(pool, 'legacy-lee'), 'legacy-lee', 'Wrong-Passw0rd!'));
  assert.ok(wrong.code, 'a wrong legacy password does not migrate');
  const missing = await rejection(admin.send(new AdminGetUserCommand({ UserPoolId: app.poolId, Username: 'legacy-lee' })));
  assert.equal(missing.name, 'UserNotFoundException');

  const session = await passwordSignIn(cognitoUser(pool, 'legacy-lee'), 'legacy-lee', 'Legacy-Passw0rd!');
  assert.ok(session.isValid());
  assert.equal(session.getIdToken().decodePayload().email, 'lee@legacy.example.com');
  const migrated = await admin.send(new AdminGetUserCommand({ UserPoolId: app.poolId, Username: 'legacy-lee' }));
  assert.equal(migrated.UserStatus, 'CONFIRMED');

  // Migrated with the password typed: from now on SRP works too, with no trigger.
  const srpUser = cognitoUser(pool, 'legacy-lee');
  const srp = await new Promise((resolve, reject) => {
    srpUser.authenticateUser(new AuthenticationDetails({ Username: 'legacy-lee', Password: 'Legacy-Passw0rd!' }), {
      onSuccess: resolve,
      onFailure: reject,
    });
  });
  assert.ok(srp.isValid());
});

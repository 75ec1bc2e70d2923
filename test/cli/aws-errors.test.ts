/**
 * Commands that call AWS: their --help says so, and without credentials or a reachable endpoint they end
 * with one line that says what is missing (cli/aws.ts), not the AWS SDK's message.
 */
import { describeAwsFailure } from '../../cli/aws';
import { runCli, runCliAsync } from '../support/cli';
import { freePort } from '../support/ports';

// Nothing of this machine's AWS setup may leak into the commands run here.
const NO_AWS = { AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/registry-edge/credentials', AWS_CONFIG_FILE: '/nonexistent/registry-edge/config', AWS_EC2_METADATA_DISABLED: 'true' };
const KEYS = { AWS_ACCESS_KEY_ID: 'registry-edge-test', AWS_SECRET_ACCESS_KEY: 'registry-edge-test' };
beforeAll(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_') && key !== 'AWS_CA_BUNDLE') delete process.env[key];
});

const sdkError = (name: string, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name, ...extra });

test.each([
  ['no credentials', sdkError('CredentialsProviderError', 'Could not load credentials from any providers'), /^no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/],
  ['no credentials, wrapped by a command', new Error('bucket b: Could not load credentials from any providers'), /^bucket b: no AWS credentials found/],
  ['no DNS', sdkError('Error', 'getaddrinfo EAI_AGAIN registry-edge-sandbox-config.s3.us-east-1.amazonaws.com', { code: 'EAI_AGAIN', hostname: 'registry-edge-sandbox-config.s3.us-east-1.amazonaws.com' }), /^cannot reach registry-edge-sandbox-config\.s3\.us-east-1\.amazonaws\.com: its name does not resolve \(EAI_AGAIN\)/],
  ['unknown host, as a cause', Object.assign(new Error('request failed'), { cause: sdkError('Error', 'getaddrinfo ENOTFOUND s3.example', { code: 'ENOTFOUND' }) }), /^cannot reach s3\.example: its name does not resolve \(ENOTFOUND\)/],
  ['nothing listening', sdkError('Error', 'connect ECONNREFUSED 127.0.0.1:9', { code: 'ECONNREFUSED', address: '127.0.0.1', port: 9 }), /^cannot reach 127\.0\.0\.1:9: nothing accepts connections there/],
  ['no route, in an AggregateError', new AggregateError([sdkError('Error', 'connect ENETUNREACH 10.0.0.1:443', { code: 'ENETUNREACH' })], ''), /^cannot reach 10\.0\.0\.1:443 \(ENETUNREACH\)/],
  ['expired credentials', sdkError('ExpiredToken', 'The provided token has expired.'), /^AWS refused the credentials \(ExpiredToken\)/],
])('%s', (_name, error, expected) => {
  expect(describeAwsFailure(error)).toMatch(expected);
});

test.each([
  ['a bucket that does not exist', sdkError('NoSuchBucket', 'The specified bucket does not exist')],
  ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
  ['a usage error', new Error('--targets: pass at least one bucket')],
])('other errors are left as they are: %s', (_name, error) => {
  expect(describeAwsFailure(error)).toBeUndefined();
});

test.each([['reconcile'], ['replay-dlq'], ['sync'], ['ranges update'], ['ranges status'], ['ranges rollback'], ['cost-report'], ['plan-regions']])('%s --help says it needs AWS', (command) => {
  const result = runCli([...command.split(' '), '--help']);
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/\nNeeds AWS: .*credentials.*network access to AWS/);
});

test.each([['classify'], ['route'], ['build'], ['ranges compile'], ['stack'], ['smoke']])('%s --help does not', (command) => {
  expect(runCli([...command.split(' '), '--help']).stdout).not.toContain('Needs AWS');
});

test.each([[['ranges', 'status', '--stage', 'sandbox']], [['ranges', 'rollback', '--stage', 'sandbox', '--previous']]])('without credentials: one line naming them, exit 1 (%j)', async (args) => {
  const result = await runCliAsync(args, { env: NO_AWS });
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^registry-edge: (s3:\/\/[^ ]+: )?no AWS credentials found: set AWS_PROFILE/)]);
});

test('without a reachable endpoint: one line naming it, exit 1', async () => {
  const port = await freePort();
  const result = await runCliAsync(['reconcile', '--source', 'source-bucket', '--targets', 'target-bucket', '--s3-endpoint', `http://127.0.0.1:${port}`], { env: { ...NO_AWS, ...KEYS } });
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([`registry-edge: cannot reach 127.0.0.1:${port}: nothing accepts connections there (ECONNREFUSED); is the endpoint (or the local server) running?`]);
});

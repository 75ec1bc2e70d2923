/**
 * CloudFront standard logging (`distribution.accessLogs`, the input of `registry-edge cost-report`): off
 * unless configured; into a bucket the main stack creates, or an existing one; and the resources it adds
 * pass cfn-lint.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../layers/config/schema';
import { mergeConfig } from '../../tools/build';
import { lintTemplates } from '../../tools/package';
import { FUNCTIONS } from '../../tools/stacks/functions';
import { ACCESS_LOG_EXPIRE_DAYS, mainStack } from '../../tools/stacks/main-stack';
import { TEST_CONFIG, testConfig } from '../support/configs';
import { resource, type Template } from './template';

const ALL = Object.keys(FUNCTIONS).sort();
const main = (override: Record<string, unknown> = {}) => mainStack(testConfig(override), ALL).resources as unknown as Template & { Outputs: Record<string, { Value: unknown }> };
const logging = (template: Template) => resource(template, 'Distribution').Properties.DistributionConfig.Logging;

test('off unless configured: no logging, no bucket', () => {
  const template = main();
  expect(logging(template)).toBeUndefined();
  expect(template.Resources.AccessLogBucket).toBeUndefined();
  expect(template.Outputs.AccessLogsLocation).toBeUndefined();
});

describe('into a bucket the main stack creates', () => {
  const template = main({ distribution: { accessLogs: {} } });

  test('the distribution logs there, without cookies, under cloudfront/', () => {
    expect(logging(template)).toEqual({ Bucket: { 'Fn::GetAtt': ['AccessLogBucket', 'DomainName'] }, Prefix: 'cloudfront/', IncludeCookies: false });
    expect(template.Outputs.AccessLogsLocation!.Value).toBe('s3://edge-test-logs/cloudfront/');
  });

  test('the bucket: private, ACLs enabled for CloudFront\'s log delivery, SSE-S3, files expire, kept when the stack goes', () => {
    const bucket = resource(template, 'AccessLogBucket');
    expect([bucket.DeletionPolicy, bucket.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    expect(bucket.Properties.BucketName).toBe('edge-test-logs');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }]);
    expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual({ Id: 'expire-access-logs', Status: 'Enabled', ExpirationInDays: ACCESS_LOG_EXPIRE_DAYS });
    const policy = resource(template, 'AccessLogBucketPolicy').Properties;
    expect(policy.Bucket).toEqual({ Ref: 'AccessLogBucket' });
    expect(policy.PolicyDocument.Statement).toEqual([expect.objectContaining({ Sid: 'DenyInsecureTransport', Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]);
  });

  test('prefix and retention from the configuration', () => {
    const custom = main({ distribution: { accessLogs: { prefix: 'logs/edge/', expireDays: 400 } } });
    expect(logging(custom).Prefix).toBe('logs/edge/');
    expect(resource(custom, 'AccessLogBucket').Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(400);
  });
});

test('into an existing bucket: named by its S3 domain, nothing created', () => {
  const template = main({ distribution: { accessLogs: { bucket: 'acme-cdn-logs', prefix: '' } } });
  expect(logging(template)).toEqual({ Bucket: 'acme-cdn-logs.s3.amazonaws.com', Prefix: '', IncludeCookies: false });
  expect(template.Resources.AccessLogBucket).toBeUndefined();
  expect(template.Resources.AccessLogBucketPolicy).toBeUndefined();
  expect(template.Outputs.AccessLogsLocation!.Value).toBe('s3://acme-cdn-logs/');
});

test.each([
  ['a retention for a bucket we do not manage', { bucket: 'acme-cdn-logs', expireDays: 30 }, /distribution\.accessLogs\.expireDays: applies only to the bucket the stack creates/],
  ['a prefix without its trailing slash', { prefix: 'logs' }, /distribution\.accessLogs\.prefix: must be path segments ending in "\/"/],
  ['an invalid bucket name', { bucket: 'Not_A_Bucket' }, /distribution\.accessLogs\.bucket: must be a valid S3 bucket name/],
  ['a typo', { bukket: 'x' }, /distribution\.accessLogs: Unrecognized key: "bukket"/],
])('refused, naming the field: %s', (_name, accessLogs, message) => {
  expect(() => resolveConfig(mergeConfig(TEST_CONFIG, { distribution: { accessLogs } }), 'x')).toThrow(message);
});

test('cfn-lint finds no error in the resources logging adds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'access-logs-lint-'));
  try {
    const files = [main({ distribution: { accessLogs: {} } }), main({ distribution: { accessLogs: { bucket: 'acme-cdn-logs' } } })].map((template, i) => {
      const file = join(dir, `main-${i}.json`);
      writeFileSync(file, JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', ...template }));
      return file;
    });
    const findings = await lintTemplates(files);
    expect(findings.filter((f) => f.level === 'Error')).toEqual([]);
    expect(findings.filter((f) => /AccessLog|Logging/.test(f.path.join('.')))).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';

describe('registry-edge classify', () => {
  test('prints one JSON object per address, as given, with the embedded snapshot', () => {
    const result = runCli(['classify', '64.252.81.7', '2600:1f18::1', '::ffff:3.4.12.4', '34.1.208.1', '8.8.8.8']);
    expect(result.status).toBe(0);
    expect(result.lines).toEqual([
      { ip: '64.252.81.7', cloud: 'aws', region: 'sa-east-1', prefix: '64.252.81.0/24' },
      { ip: '2600:1f18::1', cloud: 'aws', region: 'us-east-1', prefix: '2600:1f18::/33' },
      { ip: '::ffff:3.4.12.4', cloud: 'aws', region: 'eu-west-1', prefix: '3.4.12.4/32' },
      { ip: '34.1.208.1', cloud: 'gcp', region: 'africa-south1', prefix: '34.1.208.0/20' },
      { ip: '8.8.8.8', cloud: null, region: null, prefix: null },
    ]);
  });

  test('reads addresses from standard input with -, prints every line, and exits 1 when one is invalid', () => {
    const result = runCli(['classify', '-'], '3.4.12.4\nnot-an-ip\r\n\n2406:daba:f000::1\n');
    expect(result.status).toBe(1);
    expect(result.lines).toEqual([
      { ip: '3.4.12.4', cloud: 'aws', region: 'eu-west-1', prefix: '3.4.12.4/32' },
      { ip: 'not-an-ip', error: 'not an IPv4 or IPv6 address' },
      { ip: '2406:daba:f000::1', cloud: 'aws', region: 'ap-southeast-4', prefix: '2406:daba:f000::/40' },
    ]);
  });

  test('uses the feeds given with --aws and --gcp', () => {
    const dir = tmpdir();
    const aws = join(dir, `aws-${process.pid}.json`);
    const gcp = join(dir, `gcp-${process.pid}.json`);
    // Plausible feeds (the plausibility rules apply here as everywhere): tokens that are their dates, no special-purpose space.
    writeFileSync(aws, JSON.stringify({ syncToken: '1767225600', createDate: '2026-01-01-00-00-00', prefixes: [{ ip_prefix: '8.8.8.0/24', region: 'us-west-2', service: 'EC2' }], ipv6_prefixes: [{ ipv6_prefix: '2600:1f18::/33', region: 'eu-west-1', service: 'EC2' }] }));
    writeFileSync(gcp, JSON.stringify({ syncToken: '1767225600000', creationTime: '2026-01-01T00:00:00', prefixes: [{ ipv4Prefix: '9.9.9.0/24', scope: 'europe-west1' }] }));
    const result = runCli(['classify', '--aws', aws, '--gcp', gcp, '8.8.8.8', '2600:1f18::5', '9.9.9.9', '3.4.12.4']);
    expect(result.lines).toEqual([
      { ip: '8.8.8.8', cloud: 'aws', region: 'us-west-2', prefix: '8.8.8.0/24' },
      { ip: '2600:1f18::5', cloud: 'aws', region: 'eu-west-1', prefix: '2600:1f18::/33' },
      { ip: '9.9.9.9', cloud: 'gcp', region: 'europe-west1', prefix: '9.9.9.0/24' },
      { ip: '3.4.12.4', cloud: null, region: null, prefix: null },
    ]);
  });

  test('names the problem with a bad feed file', () => {
    const bad = join(tmpdir(), `bad-${process.pid}.json`);
    writeFileSync(bad, '{"syncToken": "1", "prefixes": [');
    const result = runCli(['classify', '--aws', bad, '1.2.3.4']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${bad}: not valid JSON (truncated?)`);
  });
});

/** `npm run package` prints each cfn-lint finding, warnings included, not only their count (tools/package.ts). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFinding, lintTemplates, summariseFindings } from '../../tools/package';

test('a warning is shown with its rule, template, place and message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lint-output-'));
  try {
    const file = join(dir, 'sandbox', 'main', 'template.json');
    mkdirSync(join(dir, 'sandbox', 'main'), { recursive: true });
    // W3005: DependsOn repeats what the GetAtt already says.
    const template = {
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: {
        Topic: { Type: 'AWS::SNS::Topic' },
        Queue: { Type: 'AWS::SQS::Queue', DependsOn: ['Topic'], Properties: { QueueName: { 'Fn::GetAtt': ['Topic', 'TopicName'] } } },
      },
    };
    writeFileSync(file, JSON.stringify(template, null, 2));
    const findings = await lintTemplates([file]);
    expect(findings.map((f) => [f.level, f.rule])).toEqual([['Warning', 'W3005']]);
    expect(describeFinding(findings[0]!, dir)).toMatch(/^cfn-lint warning W3005 in sandbox\/main\/template\.json at Resources\/Queue\/DependsOn\/0: 'Topic' dependency already enforced/);
    expect(summariseFindings(findings, 1)).toBe('cfn-lint: 0 errors, 1 warnings, 0 notes in 1 templates');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

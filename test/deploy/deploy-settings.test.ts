/**
 * What makes the templates deployable through any CloudFormation API, moto's included
 * (test/e2e/deploy.test.ts): termination protection present only on the stages that have it (osls calls
 * UpdateTerminationProtection whenever the setting is there, even to turn it off), and no DependsOn that
 * merely repeats a Ref/GetAtt (cfn-lint W3005, which moto's validation refuses).
 */
import { dropRedundantDependsOn, referencedIds } from '../../tools/stacks/plugin';
import { deletionProtection, mainVariables, regionalVariables } from '../../tools/stacks/variables';

test.each([
  ['prod', true],
  ['sandbox', null],
])('deletion protection of %s: %s', (stage, expected) => {
  expect(deletionProtection(stage)).toBe(expected);
  expect(mainVariables({ options: { stage } }).deletionProtection).toBe(expected);
  expect(regionalVariables({ options: { stage, region: 'eu-west-1' } }).deletionProtection).toBe(expected);
});

test.each([
  ['Ref', { Ref: 'A' }, ['A']],
  ['GetAtt as a list', { 'Fn::GetAtt': ['A', 'Arn'] }, ['A']],
  ['GetAtt as a string', { 'Fn::GetAtt': 'A.Arn' }, ['A']],
  ['Sub with a resource and an attribute', { 'Fn::Sub': 'arn:${AWS::Partition}:x:${A}/${B.Arn}' }, ['A', 'B']],
  ['Sub with its own variables', { 'Fn::Sub': ['${X}-${C}', { X: { Ref: 'D' } }] }, ['C', 'D']],
  ['nested in lists', { Items: [{ Ref: 'A' }, { Deep: { 'Fn::GetAtt': ['B', 'Arn'] } }] }, ['A', 'B']],
  ['plain strings are not references', { Name: 'A', Ref2: 'B' }, []],
])('referencedIds: %s', (_name, value, expected) => {
  expect([...referencedIds(value)].filter((id) => !id.startsWith('AWS::')).sort()).toEqual(expected.sort());
});

test('dropRedundantDependsOn keeps the dependencies nothing else expresses', () => {
  const resources = {
    Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['Role', 'Arn'] } }, DependsOn: ['Role', 'LogGroup'] },
    Custom: { Type: 'Custom::S3', Properties: { ServiceToken: { 'Fn::GetAtt': ['Handler', 'Arn'] } }, DependsOn: 'Handler' },
    Plain: { Type: 'AWS::SNS::Topic', Properties: {}, DependsOn: ['Other'] },
    None: { Type: 'AWS::SNS::Topic' },
  };
  dropRedundantDependsOn(resources);
  expect(resources.Fn.DependsOn).toEqual(['LogGroup']);
  expect('DependsOn' in resources.Custom).toBe(false);
  expect(resources.Plain.DependsOn).toEqual(['Other']);
  expect('DependsOn' in resources.None).toBe(false);
});

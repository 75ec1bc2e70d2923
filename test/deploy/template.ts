/**
 * Reading CloudFormation templates in the deploy tests: resources by type, the statements of a role, and
 * the S3 ARNs a statement grants, so each test can say what a function may touch in one line.
 */
export type Template = { Resources: Record<string, Resource>; Outputs?: Record<string, unknown> };
export type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string; DependsOn?: string[] };
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export function ofType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

export function only(template: Template, type: string): Resource {
  const found = ofType(template, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]![1];
}

export function resource(template: Template, logicalId: string): Resource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId} (have: ${Object.keys(template.Resources).join(', ')})`);
  return found;
}

export const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The Allow statements of an IAM role's inline policies. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const role = resource(template, roleId);
  return role.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: Statement[] } }) => p.PolicyDocument.Statement);
}

/** Which principals' services may assume a role. */
export function trustedServices(template: Template, roleId: string): string[] {
  const statements: Statement[] = resource(template, roleId).Properties.AssumeRolePolicyDocument.Statement;
  return statements.flatMap((s) => list((s.Principal as { Service: string | string[] }).Service)).sort();
}

/** action -> the plain-string resources it is allowed on (S3 ARNs are plain strings in our templates). */
export function grants(statements: Statement[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of statements.filter((x) => x.Effect === 'Allow')) {
    for (const action of list(s.Action)) {
      const set = out.get(action) ?? new Set<string>();
      for (const r of list(s.Resource)) set.add(typeof r === 'string' ? r : JSON.stringify(r));
      out.set(action, set);
    }
  }
  return out;
}

/** Every action a role grants on S3, with the ARNs. */
export function s3Grants(statements: Statement[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [action, resources] of grants(statements)) if (action.startsWith('s3:')) out[action] = [...resources].sort();
  return out;
}

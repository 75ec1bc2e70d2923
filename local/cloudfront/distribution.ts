/**
 * The distribution a stage's configuration describes, as the emulator needs it: the blob behaviour's
 * origin group. It mirrors layers/cloudfront/origin.ts: member 1 is tagged "nearest" (the origin-request
 * function points it at the bucket nearest its regional edge cache), member 2 "failover" (the primary
 * bucket, left as it is). Both start out as the primary bucket, as they are declared in the template.
 */
import { bucketOrigin, ORIGIN_ROLE_HEADER } from '../../layers/cloudfront/origin';
import type { EdgeConfig } from '../../layers/config/edge';
import type { CloudFrontOrigin } from './emulator';

function withRole(origin: CloudFrontOrigin, role: 'nearest' | 'failover'): CloudFrontOrigin {
  const copy = structuredClone(origin);
  const target = (copy.custom ?? copy.s3)!;
  target.customHeaders = { ...target.customHeaders, [ORIGIN_ROLE_HEADER]: [{ key: ORIGIN_ROLE_HEADER, value: role }] };
  return copy;
}

export function blobOriginGroup(edge: EdgeConfig): [CloudFrontOrigin, CloudFrontOrigin] {
  const { origin } = bucketOrigin(edge, edge.primaryRegion);
  return [withRole(origin, 'nearest'), withRole(origin, 'failover')];
}

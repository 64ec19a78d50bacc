import type { Resource } from '../api/types';

/** The address people use to reach a resource: a VM's public IP or a bucket's URL. */
export function endpointOf(r: Pick<Resource, 'outputs'>): string | null {
  const o = r.outputs ?? {};
  const ip = o.public_ip;
  if (typeof ip === 'string' && ip) return ip;
  const url = o.url;
  if (typeof url === 'string' && url) return url;
  return null;
}

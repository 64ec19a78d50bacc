import type { Resource } from '../../api/types';

const OUTPUT_ORDER = ['public_ip', 'url', 'private_ip', 'name', 'id'];
export const OUTPUT_LABELS: Record<string, string> = {
  id: 'ID',
  public_ip: 'Public IP',
  private_ip: 'Private IP',
  name: 'Name',
  url: 'URL',
};

/** The outputs worth showing, most useful first. */
export function outputEntries(outputs: Resource['outputs']): [string, string][] {
  const entries = Object.entries(outputs ?? {})
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)] as [string, string]);
  const rank = (k: string) => {
    const i = OUTPUT_ORDER.indexOf(k);
    return i < 0 ? OUTPUT_ORDER.length : i;
  };
  return entries.sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

// The new-resource wizard: its steps, the form fields each step owns, and
// catalog look-ups shared by the steps.
import type { Catalog, CatalogCloud, CatalogKind } from '../../api/types';
import type { ResourceFormValues } from '../../lib/schemas';
import { ORDER_DAY_TWO_FIELDS } from '../../lib/dayTwoSchemas';

export const STEPS = ['Account', 'Kind', 'Region', 'Size', 'Name & options'] as const;

export const STEP_FIELDS: (keyof ResourceFormValues)[][] = [
  ['project_id', 'account_id'],
  ['kind'],
  ['region'],
  ['size'],
  ['name', 'ssh_public_key', 'allowed_cidrs', 'expected_gb', 'tags', 'public', 'override_reason', ...ORDER_DAY_TWO_FIELDS],
];

export const ALL_FIELDS = STEP_FIELDS.flat();

export function stepOfField(field: string): number {
  const i = STEP_FIELDS.findIndex((fs) => (fs as string[]).includes(field));
  return i < 0 ? 4 : i;
}

export function findCloud(catalog: Catalog | undefined, cloudId: string | undefined): CatalogCloud | undefined {
  return catalog?.clouds.find((c) => c.id === cloudId);
}

export function findKind(cloud: CatalogCloud | undefined, kindId: string): CatalogKind | undefined {
  return cloud?.kinds.find((k) => k.id === kindId);
}

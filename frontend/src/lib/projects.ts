import type { Role } from '../api/types';

export function canManage(role: Role | undefined): boolean {
  return role === 'owner' || role === 'admin';
}

export function canOrder(role: Role | undefined): boolean {
  return role === 'owner' || role === 'admin' || role === 'member';
}

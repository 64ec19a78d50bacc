import { useOutletContext } from 'react-router';
import type { Project } from '../../api/types';

export interface ProjectContext {
  project: Project;
  reloadProject: () => void;
}

export function useProject(): ProjectContext {
  return useOutletContext<ProjectContext>();
}

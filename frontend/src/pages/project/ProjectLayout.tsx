import { Link, NavLink, Outlet, useParams } from 'react-router';
import { api } from '../../api/endpoints';
import { useAsync } from '../../lib/useAsync';
import { humanize } from '../../lib/format';
import { canManage, canOrder } from '../../lib/projects';
import { ErrorAlert, Loading, PageHeader } from '../../components/ui';
import type { ProjectContext } from './context';

const TABS = [
  { to: '', label: 'Settings', end: true },
  { to: 'members', label: 'Members', end: false },
  { to: 'accounts', label: 'Cloud accounts', end: false },
  { to: 'audit', label: 'Audit log', end: false },
];
/** Tabs only owners and admins see. */
const MANAGER_TABS = [
  { to: 'webhooks', label: 'Webhooks', end: false },
  { to: 'tokens', label: 'Service tokens', end: false },
];

export function ProjectLayout() {
  const { projectId = '' } = useParams();
  const project = useAsync(() => api.getProject(projectId), `project:${projectId}`);

  if (project.loading && !project.data) return <Loading />;
  if (!project.data) return <ErrorAlert error={project.error ?? 'Project not found'} onRetry={project.reload} />;
  const p = project.data;
  const ctx: ProjectContext = { project: p, reloadProject: project.reload };

  return (
    <div>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <Link to="/projects" className="link">
          Projects
        </Link>{' '}
        <span aria-hidden="true" className="text-slate-400">
          /
        </span>
      </nav>
      <PageHeader
        title={<span data-testid="project-name">{p.name}</span>}
        subtitle={<>Your role: {humanize(p.role)}</>}
        actions={
          <>
            <Link to={`/resources?project_id=${encodeURIComponent(p.id)}`} className="btn btn-secondary">
              Resources
            </Link>
            {canOrder(p.role) && (
              <Link to={`/resources/new?project_id=${encodeURIComponent(p.id)}`} className="btn btn-primary">
                New resource
              </Link>
            )}
          </>
        }
      />
      <div className="-mx-3 mb-5 relative overflow-x-auto border-b border-slate-200 px-3 sm:mx-0 sm:px-0">
        <nav aria-label="Project sections" className="flex gap-1">
          {[...TABS, ...(canManage(p.role) ? MANAGER_TABS : [])].map((t) => (
            <NavLink
              key={t.label}
              to={t.to}
              end={t.end}
              className={({ isActive }) =>
                `-mb-px whitespace-nowrap border-b-2 px-3 py-2 text-sm font-medium ${
                  isActive ? 'border-blue-700 text-blue-800' : 'border-transparent text-slate-600 hover:text-slate-900'
                }`
              }
            >
              {t.label}
            </NavLink>
          ))}
        </nav>
      </div>
      <ErrorAlert error={project.error} onRetry={project.reload} />
      <Outlet context={ctx} />
    </div>
  );
}

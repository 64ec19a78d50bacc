import type { ReactNode } from 'react';

export function AuthShell({ title, children, footer }: { title: string; children: ReactNode; footer: ReactNode }) {
  return (
    <div className="flex min-h-screen flex-col items-center justify-center bg-slate-50 px-4 py-10">
      <div className="mb-6 flex items-center gap-2 text-lg font-semibold text-slate-900">
        <img src="/favicon.svg" alt="" className="h-8 w-8" />
        cloudplane
      </div>
      <main className="w-full max-w-sm">
        <div className="card">
          <h1 className="mb-4 text-xl font-semibold">{title}</h1>
          {children}
        </div>
        <p className="mt-4 text-center text-sm text-slate-600">{footer}</p>
      </main>
    </div>
  );
}

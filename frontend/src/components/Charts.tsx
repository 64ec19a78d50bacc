import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { cloudColor, cloudLabel, formatUsd } from '../lib/format';
import type { AccruedSeries } from '../lib/dashboard';

const money = (v: unknown) => formatUsd(typeof v === 'number' ? v : Number(v));
const shortMoney = (v: number) => {
  if (v >= 1000) return `$${Math.round(v / 100) / 10}k`;
  if (v >= 10 || v === 0) return `$${Math.round(v)}`;
  return `$${v.toFixed(2)}`;
};

export function RunRateChart({ items }: { items: { key: string; monthly_usd: number }[] }) {
  const data = items.map((i) => ({ cloud: i.key, label: cloudLabel(i.key), usd: i.monthly_usd }));
  return (
    <div className="h-56 w-full" role="img" aria-label={`Monthly run-rate by cloud: ${data.map((d) => `${d.label} ${formatUsd(d.usd)}`).join(', ')}`}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
          <XAxis dataKey="label" tick={{ fontSize: 12 }} interval={0} />
          <YAxis tickFormatter={shortMoney} tick={{ fontSize: 12 }} width={48} />
          <Tooltip formatter={(v) => [money(v), 'per month']} cursor={{ fill: '#f1f5f9' }} />
          <Bar dataKey="usd" radius={[4, 4, 0, 0]} isAnimationActive={false}>
            {data.map((d) => (
              <Cell key={d.cloud} fill={cloudColor(d.cloud)} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

export function AccruedChart({ series }: { series: AccruedSeries }) {
  const summary = series.clouds.map((c) => `${cloudLabel(c)} ${formatUsd(series.totals[c])}`).join(', ');
  return (
    <div className="h-64 w-full" role="img" aria-label={`Cost accrued over 30 days by cloud: ${summary}`}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={series.rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
          <XAxis dataKey="date" tick={{ fontSize: 11 }} tickFormatter={(d: string) => d.slice(5)} minTickGap={24} />
          <YAxis tickFormatter={shortMoney} tick={{ fontSize: 12 }} width={48} />
          <Tooltip formatter={(v, name) => [money(v), cloudLabel(String(name))]} />
          <Legend formatter={(v: string) => cloudLabel(v)} wrapperStyle={{ fontSize: 12 }} />
          {series.clouds.map((c) => (
            <Line key={c} type="linear" dataKey={c} stroke={cloudColor(c)} strokeWidth={2} dot={false} isAnimationActive={false} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

/** A trigger's or an endpoint's state: active or paused. */
export function ActiveBadge({ active }: { active: boolean }) {
  return <span className={`badge ${active ? 'on' : 'off'}`}>{active ? 'active' : 'paused'}</span>;
}

/**
 * An edge of the builder's canvas: drawn along the route the auto-layout chose (vertical lanes and
 * horizontal runs between layers, so it never crosses a card) while both its ends are where the
 * layout put them, and as a plain step path once a card was moved by hand. Its label names the
 * path (a branch, a variant, "timed out"); an overlay marks it taken or dims it.
 */
import { memo } from 'react';
import { BaseEdge, getSmoothStepPath, type Edge, type EdgeProps } from '@xyflow/react';
import type { Point } from './layout';

export interface RoutedEdgeData extends Record<string, unknown> {
  /** The layout's route and where its two ends were when it was computed. */
  route?: { points: Point[]; from: Point; to: Point };
  /** The source and target node positions now, to check the route still fits. */
  at?: { from: Point; to: Point };
  /** Set when an overlay is shown: whether the contact took this edge. */
  taken?: boolean;
}

export type FlowEdgeView = Edge<RoutedEdgeData, 'routed'>;

const same = (a: Point, b: Point) => Math.abs(a.x - b.x) < 0.5 && Math.abs(a.y - b.y) < 0.5;

/** An SVG path through the points with small rounded corners. */
function roundedPath(points: Point[]): string {
  if (points.length < 2) return '';
  let d = `M ${points[0]!.x} ${points[0]!.y}`;
  for (let i = 1; i < points.length - 1; i += 1) {
    const prev = points[i - 1]!;
    const at = points[i]!;
    const next = points[i + 1]!;
    const r = Math.min(8, Math.hypot(at.x - prev.x, at.y - prev.y) / 2, Math.hypot(next.x - at.x, next.y - at.y) / 2);
    const inX = at.x - Math.sign(at.x - prev.x) * r;
    const inY = at.y - Math.sign(at.y - prev.y) * r;
    const outX = at.x + Math.sign(next.x - at.x) * r;
    const outY = at.y + Math.sign(next.y - at.y) * r;
    d += ` L ${inX} ${inY} Q ${at.x} ${at.y} ${outX} ${outY}`;
  }
  const last = points[points.length - 1]!;
  return `${d} L ${last.x} ${last.y}`;
}

function RoutedEdgeView({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, markerEnd, label, selected }: EdgeProps<FlowEdgeView>) {
  const route = data?.route;
  const fits = route && data?.at && same(route.from, data.at.from) && same(route.to, data.at.to);
  let path: string;
  let labelX: number;
  let labelY: number;
  if (fits && route.points.length >= 2) {
    const points = [{ x: sourceX, y: sourceY }, ...route.points.slice(1, -1), { x: targetX, y: targetY }];
    // Keep the first and last runs vertical where the handle sits a little off the route's end.
    if (points.length > 2) {
      points[1] = { x: sourceX, y: points[1]!.y };
      points[points.length - 2] = { x: targetX, y: points[points.length - 2]!.y };
    }
    path = roundedPath(points);
    labelX = sourceX;
    labelY = sourceY + 16;
  } else {
    [path, labelX, labelY] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, borderRadius: 8 });
    labelX = sourceX;
    labelY = sourceY + 16;
  }
  const className = data?.taken === undefined ? undefined : data.taken ? 'edge-taken' : 'edge-dimmed';
  return (
    <BaseEdge
      id={id}
      path={path}
      markerEnd={markerEnd}
      className={className}
      label={label}
      labelX={labelX}
      labelY={labelY}
      labelShowBg
      labelBgPadding={[4, 2]}
      labelBgBorderRadius={4}
      interactionWidth={24}
      style={selected ? { strokeWidth: 3 } : undefined}
    />
  );
}

export const RoutedEdge = memo(RoutedEdgeView);

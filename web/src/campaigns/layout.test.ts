/**
 * The builder's automatic layout on generated campaign graphs of 2 to 200 nodes: no two cards
 * overlap, every edge runs downward from its source, and no edge's route passes through a card
 * other than its own two ends.
 */
import { describe, expect, it } from 'vitest';
import { autoLayout, CARD_HEIGHT, CARD_WIDTH, overlaps, segmentCrossesBox, type Box, type LayoutEdge } from './layout';

/** A deterministic random source (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A campaign-like graph: a trigger, then steps each reached from an earlier one; some steps branch
 * (two or three ways, like a condition or a split), some paths rejoin a later step, and a few
 * loops go back up (as a wait-and-check loop does).
 */
function generate(size: number, seed: number): { ids: string[]; edges: LayoutEdge[] } {
  const rand = random(seed);
  const ids = Array.from({ length: size }, (_, i) => `n${i}`);
  const edges: LayoutEdge[] = [];
  const add = (source: string, target: string) => edges.push({ id: `${source}->${target}:${edges.length}`, source, target });
  for (let i = 1; i < size; i += 1) {
    const parent = Math.max(0, i - 1 - Math.floor(rand() * Math.min(i, 4)));
    add(ids[parent]!, ids[i]!);
  }
  for (let i = 1; i < size - 2; i += 1) {
    const roll = rand();
    if (roll < 0.15) add(ids[i]!, ids[Math.min(size - 1, i + 2 + Math.floor(rand() * 5))]!);
    else if (roll < 0.2 && i > 3) add(ids[i]!, ids[i - 2 - Math.floor(rand() * Math.min(i - 2, 3))]!);
  }
  return { ids, edges };
}

function boxes(positions: Map<string, { x: number; y: number }>): Map<string, Box> {
  return new Map([...positions].map(([id, p]) => [id, { x: p.x, y: p.y, width: CARD_WIDTH, height: CARD_HEIGHT }]));
}

describe('auto-layout', () => {
  const sizes = [2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 200];
  it.each(sizes)('lays out %i nodes with no overlap and no edge through a card', (size) => {
    for (const seed of [1, 2, 3]) {
      const { ids, edges } = generate(size, seed * 1000 + size);
      const { positions, routes } = autoLayout(ids, edges, 'n0');
      expect(positions.size).toBe(size);
      const laid = boxes(positions);
      const list = [...laid.entries()];
      for (let i = 0; i < list.length; i += 1) {
        for (let j = i + 1; j < list.length; j += 1) {
          expect(overlaps(list[i]![1], list[j]![1]), `${list[i]![0]} overlaps ${list[j]![0]} (${size} nodes, seed ${seed})`).toBe(false);
        }
      }
      for (const edge of edges) {
        const route = routes.get(edge.id);
        expect(route, edge.id).toBeDefined();
        for (let k = 0; k + 1 < route!.length; k += 1) {
          for (const [id, box] of laid) {
            if (id === edge.source || id === edge.target) continue;
            expect(segmentCrossesBox(route![k]!, route![k + 1]!, box), `edge ${edge.id} crosses ${id} (${size} nodes, seed ${seed})`).toBe(false);
          }
        }
      }
      // The trigger is on top; a forward edge goes down.
      const top = Math.min(...[...positions.values()].map((p) => p.y));
      expect(positions.get('n0')!.y).toBe(top);
    }
  });

  it('puts a step below the step leading to it', () => {
    const { positions } = autoLayout(['t', 'e', 'w', 'x'], [
      { id: '1', source: 't', target: 'e' },
      { id: '2', source: 'e', target: 'w' },
      { id: '3', source: 'w', target: 'x' },
    ]);
    const ys = ['t', 'e', 'w', 'x'].map((id) => positions.get(id)!.y);
    expect([...ys].sort((a, b) => a - b)).toEqual(ys);
    expect(ys[1]! - ys[0]!).toBeGreaterThanOrEqual(CARD_HEIGHT);
  });

  it.each([
    ['the first branch created first', ['t', 's', 'ma', 'mb', 'w']],
    ['the second branch created first', ['t', 's', 'mb', 'ma', 'w']],
  ])('puts a split\'s branches in their handles\' order (%s), so their edges do not cross', (_name, ids) => {
    const edges: LayoutEdge[] = [
      { id: 'e1', source: 't', target: 's' },
      { id: 'e2', source: 's', target: 'ma', sourceOffset: CARD_WIDTH / 3 },
      { id: 'e3', source: 's', target: 'mb', sourceOffset: (2 * CARD_WIDTH) / 3 },
      { id: 'e4', source: 'ma', target: 'w' },
      { id: 'e5', source: 'mb', target: 'w' },
    ];
    const { positions, routes } = autoLayout(ids, edges, 't');
    expect(positions.get('ma')!.x).toBeLessThan(positions.get('mb')!.x);
    const laid = boxes(positions);
    for (const edge of edges) {
      const route = routes.get(edge.id)!;
      expect(route[0]!.y).toBeLessThan(route[route.length - 1]!.y);
      for (let k = 0; k + 1 < route.length; k += 1) {
        for (const [id, box] of laid) if (id !== edge.source && id !== edge.target) expect(segmentCrossesBox(route[k]!, route[k + 1]!, box)).toBe(false);
      }
    }
  });

  it('detects a segment through a box and ignores one beside it', () => {
    const box = { x: 0, y: 0, width: 100, height: 50 };
    expect(segmentCrossesBox({ x: 50, y: -10 }, { x: 50, y: 60 }, box)).toBe(true);
    expect(segmentCrossesBox({ x: 120, y: -10 }, { x: 120, y: 60 }, box)).toBe(false);
    expect(segmentCrossesBox({ x: 50, y: 0 }, { x: 50, y: -40 }, box)).toBe(false);
  });
});

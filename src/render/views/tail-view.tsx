import { Box, Static, Text } from 'ink';
import { fit, TAIL_HEADER, tailColumns, type TailColumns, type TailRowCells } from '../tail-records.js';

export interface TailViewRow {
  /** Unique within the whole tail (the record's position), for React keys. */
  id: string;
  cells: TailRowCells;
}

export interface TailStatus {
  /** What is being tailed, e.g. "raw store ./.journeyctl" or "kafka events @ 127.0.0.1:9092". */
  source: string;
  shown: number;
  dropped: number;
  /** Records the source holds past what the tail has read, when known: how far behind it is. */
  behind?: number;
  following: boolean;
  /** Set when the tail has ended (limit reached, caught up without --follow). */
  done: boolean;
  note?: string;
}

export interface TailViewProps {
  /**
   * Rows not printed yet. They are printed once, above the status line, and scroll away like
   * `tail -f`; a new `batch` number starts a fresh <Static>, so rows already printed are not
   * kept in memory however long the tail follows.
   */
  rows: TailViewRow[];
  batch: number;
  status: TailStatus;
  width: number;
  color: boolean;
}

/** The live tail: a header, rows as they arrive, and one status line at the bottom. */
export function TailView({ rows, batch, status, width, color }: TailViewProps) {
  const columns = tailColumns(width);
  const items = batch === 0 ? [{ id: 'header', cells: TAIL_HEADER }, ...rows] : rows;
  return (
    <Box flexDirection="column">
      <Static key={batch} items={items}>
        {(row) => <TailLine key={row.id} cells={row.cells} columns={columns} color={color} header={row.id === 'header'} />}
      </Static>
      <StatusLine status={status} color={color} />
    </Box>
  );
}

function TailLine({ cells, columns, color, header }: { cells: TailRowCells; columns: TailColumns; color: boolean; header: boolean }) {
  const dim = color && !header;
  return (
    <Box>
      <Text bold={header && color} dimColor={dim}>
        {fit(cells.time, columns.time)}{' '}
      </Text>
      <Text bold={header && color} color={color && !header ? 'cyan' : undefined}>
        {fit(cells.user, columns.user)}{' '}
      </Text>
      <Text bold={header && color} dimColor={dim}>
        {fit(cells.session, columns.session)}{' '}
      </Text>
      <Text bold={header && color} color={color && !header ? (cells.problem ? 'red' : 'green') : undefined}>
        {fit(cells.event, columns.event)}{' '}
      </Text>
      <Text bold={header && color} color={color && cells.problem ? 'red' : undefined}>
        {fit(cells.detail, columns.detail).trimEnd()}
      </Text>
    </Box>
  );
}

function StatusLine({ status, color }: { status: TailStatus; color: boolean }) {
  const state = status.done ? 'done' : status.following ? 'following' : 'reading';
  const dropped = status.dropped > 0 ? ` · ${status.dropped} dropped (output too slow)` : '';
  const behind = status.behind ? ` · ${status.behind} behind` : '';
  const hint = status.done ? '' : ' · Ctrl-C to stop';
  return <Text dimColor={color}>{`● ${state} ${status.source} · ${status.shown} shown${dropped}${behind}${status.note ? ` · ${status.note}` : ''}${hint}`}</Text>;
}

import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { SegmentBuilder } from '@/components/segment-builder';
import { countDefinition, createSegment } from '../actions';

export const metadata: Metadata = { title: 'New segment' };

export default function NewSegmentPage() {
  return (
    <>
      <p>
        <Link href="/segments">← Segments</Link>
      </p>
      <h1>New segment</h1>
      <div className="panel">
        <ActionForm keepValues action={createSegment} submit="Save segment" pending="Saving…" label="New segment">
          <SegmentBuilder count={countDefinition} />
        </ActionForm>
        <p className="hint">
          The count under the rules is of the people they match now, as you edit them. Once the segment is saved every
          profile is evaluated once, then people join and leave as their events arrive.
        </p>
      </div>
    </>
  );
}

import { streamFromCollector } from '@/lib/collector';
import { segmentCsvPath } from '@/lib/data';

/** Every member of the segment as CSV, streamed from the collector as it reads them. */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const res = await streamFromCollector(segmentCsvPath(id));
  if (res.ok)
    res.headers.set('content-disposition', `attachment; filename="segment-${id.replace(/[^0-9a-f]/gi, '')}.csv"`);
  return res;
}

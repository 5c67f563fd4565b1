import { exportProfile } from '@/lib/data';

/** Downloads everything held about the person, as the collector's export answers it. */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const data = await exportProfile(id);
  return new Response(JSON.stringify(data, null, 2), {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="profile-${id.replace(/[^0-9a-f]/gi, '')}.json"`,
      'cache-control': 'no-store',
    },
  });
}

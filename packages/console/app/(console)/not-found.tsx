import Link from 'next/link';

export default function NotFound() {
  return (
    <section className="panel">
      <h1>Not found</h1>
      <p>Nothing with this id in this site: it may have been deleted or erased, or belong to another site.</p>
      <p>
        <Link href="/">Back to the overview</Link>
      </p>
    </section>
  );
}

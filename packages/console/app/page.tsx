export default function Home() {
  return <main>TrackMate console</main>;
}

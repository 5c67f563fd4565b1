/** @type {import('next').NextConfig} */
const nextConfig = {
  // the console is served by `trackmate-console` (bin/) or `next start`; no image optimisation service needed
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;

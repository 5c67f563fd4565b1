/** @type {import('next').NextConfig} */
const nextConfig = {
  // served by `trackmate-console` (bin/) or `next start`; no image optimisation service needed
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
  // a console with erase and rotate buttons must never be framed (clickjacking), nor leak its URLs
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'Content-Security-Policy', value: "frame-ancestors 'none'" },
          { key: 'Referrer-Policy', value: 'same-origin' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
        ],
      },
    ];
  },
};

export default nextConfig;

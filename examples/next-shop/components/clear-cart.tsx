'use client';

import { useEffect } from 'react';
import { writeCart } from './cart';

export function ClearCart() {
  useEffect(() => writeCart([]), []);
  return null;
}

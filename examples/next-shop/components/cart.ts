'use client';

/** The cart, in localStorage (a real shop keeps it on its server). */
export interface CartLine {
  sku: string;
  name: string;
  price: number;
  tax: number;
  quantity: number;
}

const KEY = 'shop-cart';

export function readCart(): CartLine[] {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? '[]') as CartLine[];
  } catch {
    return [];
  }
}

export function writeCart(lines: CartLine[]): void {
  localStorage.setItem(KEY, JSON.stringify(lines));
}

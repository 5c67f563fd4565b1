/** The shop's catalogue (a real shop reads its database). Prices in rupees, tax per unit. */
export interface Product {
  sku: string;
  name: string;
  price: number;
  tax: number;
  description: string;
}

export const PRODUCTS: Product[] = [
  { sku: 'TSHIRT001', name: 'T-Shirt', price: 499, tax: 49, description: 'Soft cotton, printed in Kolkata.' },
  { sku: 'MUG001', name: 'Mug', price: 299, tax: 30, description: 'Holds 350 ml of chai.' },
  { sku: 'CAP001', name: 'Cap', price: 399, tax: 40, description: 'One size, adjustable.' },
];

export const productBySku = (sku: string) => PRODUCTS.find((p) => p.sku === sku);

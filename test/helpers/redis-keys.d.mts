export declare function removeRedisKeys(url: string, prefix: string): Promise<void>;
export declare function countRedisKeys(url: string, prefix: string): Promise<number>;

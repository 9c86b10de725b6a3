/** The part of autocannon's API the benchmarks use programmatically (the package ships no types). */
declare module 'autocannon' {
  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string;
    }
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      requests?: Array<{ setupRequest?: (request: Request) => Request }>;
    }
    interface Result {
      requests: { total: number; average: number };
      latency: { p99: number };
      non2xx: number;
    }
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}

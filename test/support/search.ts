/** A page of a session's hits (spec §12), as the search tests ask for it. */
export const SEARCH_HITS = /* GraphQL */ `
  query Hits($id: ID!, $text: String!, $first: Int, $after: String) {
    session(id: $id) {
      searchHits(text: $text, first: $first, after: $after) {
        edges { cursor node { time type source line } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }`;

export interface Hit {
  time: number;
  type: string;
  source: string;
  line: string;
}

export interface HitsResult {
  session: { searchHits: { edges: { cursor: string; node: Hit }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } | null;
}

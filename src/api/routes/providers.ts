import { Router } from 'express';
import { z } from 'zod';
import { getProvider, listProviders, type ProviderDefinition } from '../../providers';
import { query } from '../validate';

const listQuery = z.object({ search: z.string().max(255).optional() });

const shape = (name: string, definition: ProviderDefinition) => ({ name, ...definition });

/** `GET /providers[?search=]` and `GET /providers/:provider`: the catalogue, user providers included. */
export function providerRoutes(): Router {
  const router = Router();

  router.get('/providers', (req, res) => {
    const search = query(listQuery, req).search?.toLowerCase();
    const all = listProviders().filter(({ name, definition }) => !search || name.includes(search) || definition.display_name.toLowerCase().includes(search));
    res.json({ data: all.map(({ name, definition }) => shape(name, definition)) });
  });

  router.get('/providers/:provider', (req, res) => {
    res.json({ data: shape(req.params.provider, getProvider(req.params.provider)) });
  });

  return router;
}

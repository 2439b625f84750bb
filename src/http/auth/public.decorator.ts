import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'chronos:public';
export const ADMIN_ONLY = 'chronos:admin-only';

/** The route needs no access token (health, docs, sign-up and sign-in). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The route is for admins; anyone else gets 403. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

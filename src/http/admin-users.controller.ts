import { Body, Controller, Get, Param, Patch, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { UsersRepository } from '../auth/users.repository.js';
import { NotFoundError } from '../domain/errors.js';
import { AdminOnly } from './auth/public.decorator.js';
import { ChangeRoleDto, UserDto, UserListDto } from './dto/auth.dto.js';
import { PageQueryDto } from './dto/list-query.dto.js';
import { ProblemDto } from './dto/responses.dto.js';
import { uuidParam } from './validation.js';
import { ReadYourWrites } from './read-your-writes/read-your-writes.decorator.js';

@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@ApiForbiddenResponse({ type: ProblemDto, description: 'ADMIN_ONLY' })
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: UsersRepository) {}

  @Get()
  @ApiOperation({ summary: 'All users' })
  @ApiOkResponse({ type: UserListDto })
  async list(@Query() query: PageQueryDto): Promise<UserListDto> {
    const { items, total } = await this.users.list(query.page, query.limit);
    return { items, page: query.page, limit: query.limit, total, totalPages: Math.ceil(total / query.limit) };
  }

  @ReadYourWrites()
  @Patch(':id')
  @ApiOperation({ summary: "Change a user's role (in effect from their next request, with the access token they hold)" })
  @ApiOkResponse({ type: UserDto })
  @ApiNotFoundResponse({ type: ProblemDto })
  async changeRole(@Param('id', uuidParam()) id: string, @Body() body: ChangeRoleDto): Promise<UserDto> {
    const user = await this.users.setRole(id, body.role);
    if (!user) throw new NotFoundError('USER_NOT_FOUND', `user ${id} not found`);
    return user;
  }
}

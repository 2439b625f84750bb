import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AuthService } from '../auth/auth.service.js';
import { NotFoundError } from '../domain/errors.js';
import { UsersRepository } from '../auth/users.repository.js';
import { Public } from './auth/public.decorator.js';
import { RateLimit } from './rate-limit/rate-limit.guard.js';
import { CurrentCaller, type Caller } from './caller.js';
import { LoginDto, RefreshDto, RegisterDto, TokenPairDto, UserDto } from './dto/auth.dto.js';
import { ProblemDto } from './dto/responses.dto.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersRepository,
  ) {}

  @Post('register')
  @Public()
  @RateLimit('auth')
  @ApiOperation({ summary: 'Create an account and sign in' })
  @ApiCreatedResponse({ type: TokenPairDto })
  @ApiConflictResponse({ type: ProblemDto, description: 'EMAIL_TAKEN' })
  register(@Body() body: RegisterDto): Promise<TokenPairDto> {
    return this.auth.register(body.email, body.password, body.name);
  }

  @Post('login')
  @Public()
  @RateLimit('auth')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({ type: ProblemDto, description: 'INVALID_CREDENTIALS (the same for an unknown email and a wrong password)' })
  login(@Body() body: LoginDto): Promise<TokenPairDto> {
    return this.auth.login(body.email, body.password);
  }

  @Post('refresh')
  @Public()
  @RateLimit('auth')
  @HttpCode(200)
  @ApiOperation({ summary: 'Trade a refresh token for a new pair (rotation: a reused token revokes the session)' })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({ type: ProblemDto, description: 'INVALID_REFRESH_TOKEN, REFRESH_TOKEN_REUSED' })
  refresh(@Body() body: RefreshDto): Promise<TokenPairDto> {
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Revoke this access token and its session' })
  @ApiNoContentResponse()
  @ApiUnauthorizedResponse({ type: ProblemDto })
  async logout(@CurrentCaller() caller: Caller): Promise<void> {
    await this.auth.logout(caller.claims!);
  }

  @Get('me')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserDto })
  @ApiUnauthorizedResponse({ type: ProblemDto })
  async me(@CurrentCaller() caller: Caller): Promise<UserDto> {
    const user = await this.users.findById(caller.id);
    if (!user) throw new NotFoundError('USER_NOT_FOUND', 'the account no longer exists');
    return user;
  }
}

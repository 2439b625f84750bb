import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { PageMetaDto } from './responses.dto.js';

export class RegisterDto {
  @ApiProperty({ format: 'email', example: 'ada@example.com' })
  @IsEmail()
  @MaxLength(254)
  email!: string;

  @ApiProperty({ minLength: 8, description: 'at least 8 characters with an upper-case letter, a lower-case letter and a digit', example: 'Sup3rSecret' })
  @IsString()
  @MinLength(8)
  @MaxLength(256)
  @Matches(/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)/s, { message: 'password must contain an upper-case letter, a lower-case letter and a digit' })
  password!: string;

  @ApiPropertyOptional({ maxLength: 200, example: 'Ada Lovelace' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export class LoginDto {
  @ApiProperty({ format: 'email' })
  @IsEmail()
  @MaxLength(254)
  email!: string;

  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  password!: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'the refresh token of the last pair: each can be used once' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  refreshToken!: string;
}

export class ChangeRoleDto {
  @ApiProperty({ enum: ['admin', 'user'] })
  @IsIn(['admin', 'user'])
  role!: 'admin' | 'user';
}

export class UserDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'email' }) email!: string;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ enum: ['admin', 'user'] }) role!: 'admin' | 'user';
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class TokenPairDto {
  @ApiProperty({ type: UserDto }) user!: UserDto;
  @ApiProperty({ description: 'JWT for `Authorization: Bearer`' }) accessToken!: string;
  @ApiProperty({ description: 'opaque, single use: POST /auth/refresh returns a new pair' }) refreshToken!: string;
  @ApiProperty({ description: "the access token's lifetime in seconds" }) expiresIn!: number;
}

export class UserListDto extends PageMetaDto {
  @ApiProperty({ type: [UserDto] }) items!: UserDto[];
}

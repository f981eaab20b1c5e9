"""The FastAPI original, as the benchmark's baseline.

The endpoints yiqikan's benchmark measures (register, /token, GET /users/me,
GET /notifications/, POST /rooms/join and /rooms/leave), written the way
FastAPI's own tutorials teach: "SQL (Relational) Databases" (SQLAlchemy
models, a session per request from a `get_db` dependency, `def` path
operations for blocking database work, pydantic schemas with orm_mode) and
"OAuth2 with Password (and hashing), Bearer with JWT tokens"
(OAuth2PasswordBearer, OAuth2PasswordRequestForm, python-jose HS256,
passlib's CryptContext).  The tutorial hashes with bcrypt; here passlib
uses argon2id through argon2-cffi with the same OWASP parameters as
yiqikan (m=19456 KiB, t=2, p=1, 32-byte hash) so logins cost the same.

The tables have the same indexes as yiqikan's, so the comparison is about
the stacks, not about the schema.  Joining and leaving lock the room row,
update the member count and append a room event to the event queue in one
transaction, as yiqikan does.

Configuration comes from the environment (set by tests/bench/run.sh):
  BENCH_DB_URL      mysql+pymysql://user:password@127.0.0.1:3306/yiqikan_bench
  BENCH_JWT_SECRET  HS256 key

Run: uvicorn app:app --workers $(nproc)   (run.sh first calls create_schema()
once so the workers do not race to create the tables).
"""
import json
import os
import re
from datetime import datetime, timedelta
from typing import List, Optional

from fastapi import Depends, FastAPI, HTTPException, Query, Response, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from jose import JWTError, jwt
from passlib.context import CryptContext
from pydantic import BaseModel, constr
from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, Enum,
                        ForeignKey, Index, Integer, String, create_engine,
                        func, or_)
from sqlalchemy.orm import Session, declarative_base, sessionmaker

# ---- database.py ----
SQLALCHEMY_DATABASE_URL = os.environ.get(
    "BENCH_DB_URL", "mysql+pymysql://yqbench:yqbench@127.0.0.1:3306/yiqikan_bench")
# One pooled connection per thread of the thread pool FastAPI runs `def`
# dependencies and path operations in (anyio's default: 40).  With the
# default QueuePool (5 + 10 overflow) the tutorial's session-per-request
# dependency deadlocks under load: every thread waits for a connection held
# by a request that waits for a thread (fastapi/fastapi#3205), and nothing
# moves until pool_timeout (30 s) turns it into 500s.
engine = create_engine(SQLALCHEMY_DATABASE_URL, pool_size=40, max_overflow=0)
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)
Base = declarative_base()

# ---- models.py ----
MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


class User(Base):
    __tablename__ = "users"
    __table_args__ = MYSQL

    id = Column(BigInteger, primary_key=True, index=True)
    username = Column(String(32), unique=True, index=True, nullable=False)
    email = Column(String(254), unique=True, index=True, nullable=False)
    hashed_password = Column(String(255), nullable=False)
    avatar_url = Column(String(512), nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    updated_at = Column(DateTime, nullable=False, default=datetime.utcnow)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user", "user_id", "deleted_at", "id"),
        Index("ix_notifications_status", "user_id", "status", "deleted_at", "id"),
        MYSQL,
    )

    id = Column(BigInteger, primary_key=True)
    user_id = Column(BigInteger, ForeignKey("users.id"), nullable=False)
    type = Column(String(32), nullable=False)
    content = Column(JSON, nullable=False)
    status = Column(Enum("unread", "read", name="notification_status"),
                    nullable=False, default="unread")
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    read_at = Column(DateTime, nullable=True)
    deleted_at = Column(DateTime, nullable=True)


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = MYSQL

    id = Column(BigInteger, primary_key=True, index=True)
    owner_id = Column(BigInteger, ForeignKey("users.id"), nullable=False)
    name = Column(String(64), nullable=False)
    description = Column(String(500), nullable=False, default="")
    is_public = Column(Boolean, nullable=False, default=True)
    require_approval = Column(Boolean, nullable=False, default=False)
    max_members = Column(Integer, nullable=False, default=50)
    member_count = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)
    dissolved_at = Column(DateTime, nullable=True)


class RoomMember(Base):
    __tablename__ = "room_members"
    __table_args__ = (Index("ix_members_user", "user_id", "room_id"), MYSQL)

    room_id = Column(BigInteger, ForeignKey("rooms.id"), primary_key=True)
    user_id = Column(BigInteger, ForeignKey("users.id"), primary_key=True)
    role = Column(Enum("owner", "moderator", "member", name="member_role"),
                  nullable=False, default="member")
    joined_at = Column(DateTime, nullable=False, default=datetime.utcnow)


class Event(Base):
    """The event queue the WebSocket nodes tail."""
    __tablename__ = "event_queue"
    __table_args__ = MYSQL

    id = Column(BigInteger, primary_key=True)
    target_kind = Column(Enum("user", "room", name="target_kind"), nullable=False)
    target_id = Column(BigInteger, nullable=False)
    type = Column(String(32), nullable=False)
    payload = Column(JSON, nullable=False)
    origin = Column(String(64), nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)


def create_schema():
    Base.metadata.create_all(bind=engine)


# ---- schemas.py ----
class UserBase(BaseModel):
    username: constr(min_length=3, max_length=32, regex=r"^[A-Za-z0-9_.-]+$")
    email: constr(max_length=254, regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    avatar_url: str = ""


class UserCreate(UserBase):
    password: constr(min_length=8, max_length=128)


class UserOut(BaseModel):
    id: int
    username: str
    email: str
    avatar_url: str
    created_at: datetime
    updated_at: datetime

    class Config:
        orm_mode = True


class Token(BaseModel):
    access_token: str
    token_type: str


class NotificationOut(BaseModel):
    id: int
    type: str
    content: dict
    status: str
    created_at: datetime
    read_at: Optional[datetime]

    class Config:
        orm_mode = True


class NotificationPage(BaseModel):
    items: List[NotificationOut]
    next_cursor: Optional[str]
    unread_count: int


class RoomRef(BaseModel):
    room_id: int


class Membership(BaseModel):
    room_id: int
    user_id: int
    role: str


# ---- security (the OAuth2/JWT tutorial) ----
SECRET_KEY = os.environ.get("BENCH_JWT_SECRET", "change-me-" * 4)
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 15

pwd_context = CryptContext(schemes=["argon2"], deprecated="auto",
                           argon2__type="ID", argon2__memory_cost=19456,
                           argon2__rounds=2, argon2__parallelism=1,
                           argon2__digest_size=32, argon2__salt_size=16)
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")

app = FastAPI(title="yiqikan FastAPI baseline")


@app.on_event("startup")
def startup():
    # the tutorial's Base.metadata.create_all(); run.sh runs it once before
    # the workers start, so here it only checks that the tables exist
    create_schema()


# Dependency
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def verify_password(plain_password, hashed_password):
    return pwd_context.verify(plain_password, hashed_password)


def get_password_hash(password):
    return pwd_context.hash(password)


def authenticate_user(db: Session, username: str, password: str):
    user = db.query(User).filter(or_(User.username == username, User.email == username)).first()
    if not user:
        return False
    if not verify_password(password, user.hashed_password):
        return False
    return user


def create_access_token(data: dict, expires_delta: Optional[timedelta] = None):
    to_encode = data.copy()
    expire = datetime.utcnow() + (expires_delta or timedelta(minutes=15))
    to_encode.update({"exp": expire})
    return jwt.encode(to_encode, SECRET_KEY, algorithm=ALGORITHM)


def get_current_user(token: str = Depends(oauth2_scheme), db: Session = Depends(get_db)):
    credentials_exception = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
        username: str = payload.get("sub")
        if username is None:
            raise credentials_exception
    except JWTError:
        raise credentials_exception
    user = db.query(User).filter(User.username == username).first()
    if user is None:
        raise credentials_exception
    return user


# ---- main.py ----
@app.post("/users/", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(user: UserCreate, db: Session = Depends(get_db)):
    taken = db.query(User).filter(or_(User.username == user.username,
                                      User.email == user.email)).first()
    if taken:
        raise HTTPException(status_code=409, detail="Username or email already registered")
    db_user = User(username=user.username, email=user.email, avatar_url=user.avatar_url,
                   hashed_password=get_password_hash(user.password))
    db.add(db_user)
    db.commit()
    db.refresh(db_user)
    return db_user


@app.post("/token", response_model=Token)
def login_for_access_token(form_data: OAuth2PasswordRequestForm = Depends(),
                           db: Session = Depends(get_db)):
    user = authenticate_user(db, form_data.username, form_data.password)
    if not user:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    access_token_expires = timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES)
    access_token = create_access_token(data={"sub": user.username},
                                       expires_delta=access_token_expires)
    return {"access_token": access_token, "token_type": "bearer"}


@app.get("/users/me", response_model=UserOut)
async def read_users_me(current_user: User = Depends(get_current_user)):
    return current_user


@app.get("/notifications/", response_model=NotificationPage)
def read_notifications(limit: int = Query(20, ge=1, le=100),
                       cursor: Optional[str] = None,
                       status_: str = Query("all", alias="status", regex="^(all|unread|read)$"),
                       current_user: User = Depends(get_current_user),
                       db: Session = Depends(get_db)):
    q = db.query(Notification).filter(Notification.user_id == current_user.id,
                                      Notification.deleted_at.is_(None))
    if status_ != "all":
        q = q.filter(Notification.status == status_)
    if cursor:
        if not re.fullmatch(r"[0-9]{1,19}", cursor):
            raise HTTPException(status_code=422, detail="Invalid cursor")
        q = q.filter(Notification.id < int(cursor))
    rows = q.order_by(Notification.id.desc()).limit(limit + 1).all()
    unread = db.query(func.count(Notification.id)).filter(
        Notification.user_id == current_user.id, Notification.status == "unread",
        Notification.deleted_at.is_(None)).scalar()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": str(rows[-1].id) if more else None,
            "unread_count": unread}


def locked_room(db: Session, room_id: int) -> Room:
    room = db.query(Room).filter(Room.id == room_id).with_for_update().first()
    if room is None or room.dissolved_at is not None:
        raise HTTPException(status_code=404, detail="Room not found")
    return room


def room_event(db: Session, room: Room, event: str, user: User, role: Optional[str]):
    db.add(Event(target_kind="room", target_id=room.id, type="room_event",
                 payload={"event": event, "room_id": room.id,
                          "user": {"id": user.id, "username": user.username},
                          "role": role}))


@app.post("/rooms/join", response_model=Membership)
def join_room(body: RoomRef, current_user: User = Depends(get_current_user),
              db: Session = Depends(get_db)):
    room = locked_room(db, body.room_id)
    member = db.get(RoomMember, (room.id, current_user.id))
    if member is not None:
        db.commit()
        return {"room_id": room.id, "user_id": current_user.id, "role": member.role}
    if not room.is_public:
        raise HTTPException(status_code=404, detail="Room not found")
    if room.require_approval:
        raise HTTPException(status_code=403, detail="This room requires approval: apply to join")
    if room.member_count >= room.max_members:
        raise HTTPException(status_code=409, detail="Room is full")
    db.add(RoomMember(room_id=room.id, user_id=current_user.id, role="member"))
    room.member_count += 1
    room_event(db, room, "member_joined", current_user, "member")
    db.commit()
    return {"room_id": room.id, "user_id": current_user.id, "role": "member"}


@app.post("/rooms/leave", status_code=status.HTTP_204_NO_CONTENT)
def leave_room(body: RoomRef, current_user: User = Depends(get_current_user),
               db: Session = Depends(get_db)):
    room = locked_room(db, body.room_id)
    member = db.get(RoomMember, (room.id, current_user.id))
    if member is None:
        raise HTTPException(status_code=404, detail="You are not a member of this room")
    if member.role == "owner":
        raise HTTPException(status_code=409, detail="The owner cannot leave")
    db.delete(member)
    room.member_count -= 1
    room_event(db, room, "member_left", current_user, None)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["create-schema"]:
        create_schema()
        print(json.dumps({"tables": sorted(Base.metadata.tables)}))
    else:
        print("usage: app.py create-schema   (serve it with uvicorn app:app)", file=sys.stderr)
        sys.exit(2)

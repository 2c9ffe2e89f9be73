"""揭榜助手 — a chat assistant for the 大企业“发榜”中小企业“揭榜” programme."""

// qnncc RTL library: StreamingFIFO, a first-word-fall-through FIFO of DEPTH words.
//
// out_data shows the oldest word whenever out_valid; in_ready while fewer
// than DEPTH words are held. One word in and one out per cycle. RAM_STYLE is
// the ram_style attribute of the storage ("auto" leaves it to the tool).
module qnncc_fifo #(
    parameter WIDTH = 8,
    parameter DEPTH = 2,
    parameter RAM_STYLE = "auto"
) (
    input wire clk,
    input wire rst_n,
    input wire [WIDTH-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output wire [WIDTH-1:0] out_data,
    output wire out_valid,
    input wire out_ready
);
  localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam CW = $clog2(DEPTH + 1);
  reg [AW-1:0] rptr, wptr;
  reg [CW-1:0] count;
  assign out_valid = (count != 0);
  assign in_ready = (count < DEPTH);
  wire in_fire = in_valid && in_ready;
  wire out_fire = out_valid && out_ready;
  generate
    if (RAM_STYLE == "distributed") begin : g_dist
      (* ram_style = "distributed" *) reg [WIDTH-1:0] mem[0:DEPTH-1];
      always @(posedge clk) if (in_fire) mem[wptr] <= in_data;
      assign out_data = mem[rptr];
    end else if (RAM_STYLE == "registers") begin : g_reg
      (* ram_style = "registers" *) reg [WIDTH-1:0] mem[0:DEPTH-1];
      always @(posedge clk) if (in_fire) mem[wptr] <= in_data;
      assign out_data = mem[rptr];
    end else begin : g_auto
      reg [WIDTH-1:0] mem[0:DEPTH-1];
      always @(posedge clk) if (in_fire) mem[wptr] <= in_data;
      assign out_data = mem[rptr];
    end
  endgenerate
  always @(posedge clk) begin
    if (!rst_n) begin
      rptr  <= 0;
      wptr  <= 0;
      count <= 0;
    end else begin
      if (in_fire) wptr <= (wptr == DEPTH - 1) ? 0 : wptr + 1'b1;
      if (out_fire) rptr <= (rptr == DEPTH - 1) ? 0 : rptr + 1'b1;
      count <= count + (in_fire ? 1'b1 : 1'b0) - (out_fire ? 1'b1 : 1'b0);
    end
  end
endmodule
